package web

import "github.com/labstack/echo/v4"

// RoutesOf lists every route the server registers, for the authorization matrix test.
func RoutesOf(s *Server) []*echo.Route { return s.echo.Routes() }
