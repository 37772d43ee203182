package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const largest = "Lawerence6_Baumbach677_ea8d2576-4a23-4906-c353-bfed5adb23bd.json"

type resourceHead struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		VersionID   string `json:"versionId"`
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
	Subject *struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	ServiceProvider *struct {
		Reference string `json:"reference"`
	} `json:"serviceProvider"`
}

func head(t *testing.T, raw []byte) resourceHead {
	t.Helper()
	var h resourceHead
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return h
}

// fileObservations returns the patient id and the ids of the Observations in a
// fhir-data-pipes bundle whose subject is that patient.
func fileObservations(t *testing.T, path string) (patientID string, ids []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	var patientFullURL string
	for _, e := range b.Entry {
		if h := head(t, e.Resource); h.ResourceType == "Patient" {
			patientID, patientFullURL = h.ID, e.FullURL
		}
	}
	for _, e := range b.Entry {
		h := head(t, e.Resource)
		if h.ResourceType == "Observation" && h.Subject != nil && h.Subject.Reference == patientFullURL {
			ids = append(ids, h.ID)
		}
	}
	slices.Sort(ids)
	return patientID, ids
}

func TestServer(t *testing.T) {
	bundle := SharedBundle(t, largest)
	// The batch bundles are given last on purpose: Start loads them first anyway.
	srv := Start(t, bundle, SharedBundle(t, HospitalBundle), SharedBundle(t, PractitionerBundle))
	t.Logf("start + load of %s and the two batch bundles: %s (%s)", largest, srv.Startup.Round(time.Millisecond), strings.TrimSpace(srv.Log()))
	if !strings.HasSuffix(srv.URL, BasePath) || strings.HasSuffix(srv.URL, "/") {
		t.Fatalf("URL = %q", srv.URL)
	}
	patientID, wantObs := fileObservations(t, bundle)

	t.Run("metadata", func(t *testing.T) {
		status, body := srv.Do(t, http.MethodGet, "metadata", nil)
		if status != 200 || !bytes.Contains(body, []byte(`"CapabilityStatement"`)) || !bytes.Contains(body, []byte(`"4.0.1"`)) {
			t.Fatalf("metadata: %d %.200s", status, body)
		}
	})

	t.Run("patient by identifier", func(t *testing.T) {
		got := srv.Resources(t, "Patient", "identifier=https://github.com/synthetichealth/synthea|"+patientID)
		if len(got) != 1 || head(t, got[0]).ID != patientID {
			t.Fatalf("Patient?identifier= gave %d resources, want the patient %s", len(got), patientID)
		}
	})

	t.Run("observations page through next links", func(t *testing.T) {
		first := srv.Search(t, "Observation?patient=Patient/"+patientID+"&_count=50")
		if first.Total == nil || *first.Total != len(wantObs) || len(first.Entry) != 50 {
			t.Fatalf("first page: total %v, %d entries; want total %d, 50 entries", first.Total, len(first.Entry), len(wantObs))
		}
		next := first.NextLink()
		if !strings.HasPrefix(next, srv.URL+"/Observation?") || !strings.Contains(next, "_offset=50") {
			t.Fatalf("next link %q", next)
		}
		start := time.Now()
		all := srv.Resources(t, "Observation", "patient=Patient/"+patientID+"&_count=50")
		var got []string
		for _, r := range all {
			got = append(got, head(t, r).ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, wantObs) {
			t.Fatalf("paged %d Observations (ids as in the file: %v), want the %d in the file", len(got), len(got) > 0 && slices.Contains(wantObs, got[0]), len(wantObs))
		}
		t.Logf("%d Observations in %d pages: %s", len(got), (len(got)+49)/50, time.Since(start).Round(time.Millisecond))
		// A bare id means Patient/<id>, and subject= works the same.
		if n := len(srv.Resources(t, "Observation", "subject="+patientID+"&_count=1000&_elements=id")); n != len(wantObs) {
			t.Fatalf("subject=<bare id>: %d, want %d", n, len(wantObs))
		}
	})

	t.Run("references resolved to kept ids", func(t *testing.T) {
		encs := srv.Search(t, "Encounter?patient="+patientID+"&_count=1")
		if len(encs.Entry) == 0 {
			t.Fatal("no Encounters")
		}
		h := head(t, encs.Entry[0].Resource)
		if h.Subject == nil || h.Subject.Reference != "Patient/"+patientID {
			t.Fatalf("Encounter.subject = %+v", h.Subject)
		}
		if h.ServiceProvider == nil || !strings.HasPrefix(h.ServiceProvider.Reference, "Organization/") {
			t.Fatalf("Encounter.serviceProvider = %+v, want a resolved Organization/id", h.ServiceProvider)
		}
		if status, body := srv.Do(t, http.MethodGet, h.ServiceProvider.Reference, nil); status != 200 {
			t.Fatalf("GET %s: %d %.200s", h.ServiceProvider.Reference, status, body)
		}
	})

	t.Run("unknown search parameter is an error", func(t *testing.T) {
		if status, _ := srv.Do(t, http.MethodGet, "Observation?no-such-param=1", nil); status != 400 {
			t.Fatalf("status %d, want 400", status)
		}
	})

	t.Run("lastUpdated, update, delete, history", func(t *testing.T) {
		newest := srv.Search(t, "Observation?patient="+patientID+"&_sort=-_lastUpdated&_count=1")
		watermark := head(t, newest.Entry[0].Resource).Meta.LastUpdated
		if n := len(srv.Resources(t, "Observation", "patient="+patientID+"&_lastUpdated=gt"+watermark)); n != 0 {
			t.Fatalf("_lastUpdated=gt%s before any change: %d resources", watermark, n)
		}
		time.Sleep(5 * time.Millisecond) // lastUpdated has millisecond precision

		id := wantObs[0]
		status, body := srv.Do(t, http.MethodGet, "Observation/"+id, nil)
		if status != 200 {
			t.Fatalf("read: %d", status)
		}
		body = bytes.Replace(body, []byte(`"status":"final"`), []byte(`"status":"amended"`), 1)
		if status, resp := srv.Do(t, http.MethodPut, "Observation/"+id, body); status != 200 {
			t.Fatalf("update: %d %.300s", status, resp)
		}
		changed := srv.Resources(t, "Observation", "patient="+patientID+"&_lastUpdated=gt"+watermark)
		if len(changed) != 1 || head(t, changed[0]).ID != id {
			t.Fatalf("_lastUpdated=gt after one update: %d resources", len(changed))
		}

		del := wantObs[1]
		if status, resp := srv.Do(t, http.MethodDelete, "Observation/"+del, nil); status != 200 {
			t.Fatalf("delete: %d %.300s", status, resp)
		}
		if status, _ := srv.Do(t, http.MethodGet, "Observation/"+del, nil); status != 410 {
			t.Fatalf("read after delete: %d, want 410", status)
		}
		// _since is "at or after": start just after the load.
		wm, err := time.Parse(time.RFC3339Nano, watermark)
		if err != nil {
			t.Fatal(err)
		}
		since := wm.Add(time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z07:00")
		hist := srv.Search(t, "Observation/_history?_since="+since)
		var saw []string
		for _, e := range hist.Entry {
			saw = append(saw, e.Request.Method+" "+e.Request.URL)
		}
		want := []string{"DELETE Observation/" + del, "PUT Observation/" + id}
		if !slices.Equal(saw, want) {
			t.Fatalf("_history?_since: %v, want %v", saw, want)
		}
		if n := len(srv.Resources(t, "Observation", "patient="+patientID+"&_count=200")); n != len(wantObs)-1 {
			t.Fatalf("after delete: %d Observations, want %d", n, len(wantObs)-1)
		}
	})

	t.Run("transaction at the base and $load", func(t *testing.T) {
		tx := `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:0b0e4f52-1111-4a4a-8b8b-000000000001","resource":{"resourceType":"Patient","name":[{"family":"Tx"}]},"request":{"method":"POST","url":"Patient"}},
			{"resource":{"resourceType":"Observation","status":"final","code":{"text":"t"},"subject":{"reference":"urn:uuid:0b0e4f52-1111-4a4a-8b8b-000000000001"}},"request":{"method":"POST","url":"Observation"}}]}`
		status, body := srv.Do(t, http.MethodPost, "", []byte(tx))
		if status != 200 || !bytes.Contains(body, []byte(`"transaction-response"`)) || !bytes.Contains(body, []byte(`"reference":"Patient/`)) {
			t.Fatalf("transaction: %d %.500s", status, body)
		}
		keep := `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:0b0e4f52-1111-4a4a-8b8b-000000000002","resource":{"resourceType":"Patient","id":"kept-id","name":[{"family":"Load"}]},"request":{"method":"POST","url":"Patient"}}]}`
		srv.Load(t, []byte(keep))
		if status, _ := srv.Do(t, http.MethodGet, "Patient/kept-id", nil); status != 200 {
			t.Fatalf("$load did not keep the id: %d", status)
		}
	})

	t.Run("fault proxy", func(t *testing.T) { testFaultProxy(t, srv, patientID) })
}

func testFaultProxy(t *testing.T, srv *Server, patientID string) {
	search := "/Observation?patient=" + patientID + "&_count=20"
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(p *FaultProxy) (*http.Response, []byte, error) {
		resp, err := client.Get(p.URL + search)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}

	t.Run("no faults rewrites links", func(t *testing.T) {
		p := NewFaultProxy(t, srv.URL, Faults{})
		resp, body, err := get(p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", err, resp)
		}
		if bytes.Contains(body, []byte(srv.URL)) || !bytes.Contains(body, []byte(p.URL+"/Observation?")) {
			t.Fatalf("links not rewritten to the proxy: %.400s", body)
		}
		// The helpers work through the proxy too (next links point at it).
		via := &Server{URL: p.URL, client: client}
		if n := len(via.Resources(t, "Observation", "patient="+patientID+"&_count=100")); n == 0 {
			t.Fatal("no resources through the proxy")
		}
		if p.Injected() != 0 || p.Requests() < 2 {
			t.Fatalf("requests %d injected %d", p.Requests(), p.Injected())
		}
	})

	for _, kind := range AllFaults {
		t.Run(kind.String(), func(t *testing.T) {
			p := NewFaultProxy(t, srv.URL, Faults{Rate: 1, Seed: 7, Kinds: []Fault{kind}, Delay: 300 * time.Millisecond})
			start := time.Now()
			resp, body, err := get(p)
			switch kind {
			case FaultDelay:
				if err != nil || resp.StatusCode != 200 || time.Since(start) < 300*time.Millisecond {
					t.Fatalf("delay: %v %v after %s", err, resp, time.Since(start))
				}
			case FaultDrop:
				if err == nil {
					t.Fatalf("drop: got a response %d", resp.StatusCode)
				}
			case Fault500:
				if err != nil || resp.StatusCode != 500 || !bytes.Contains(body, []byte("OperationOutcome")) {
					t.Fatalf("500: %v %v", err, resp)
				}
			case Fault429:
				if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
					t.Fatalf("429: %v %v", err, resp)
				}
			case FaultTruncate:
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("truncate: err = %v, want unexpected EOF", err)
				}
			case FaultCorrupt:
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("corrupt: %v %v", err, resp)
				}
				var b Bundle
				if err := json.Unmarshal(body, &b); err != nil {
					t.Fatalf("corrupt: the Bundle is no longer valid JSON: %v", err)
				}
				bad := 0
				for _, e := range b.Entry {
					var r struct {
						Code json.RawMessage `json:"code"`
					}
					json.Unmarshal(e.Resource, &r) //nolint:errcheck
					if string(r.Code) == "12" {
						bad++
					}
				}
				if bad != 1 || len(p.Corrupted()) != 1 || !strings.HasPrefix(p.Corrupted()[0], "Observation/") {
					t.Fatalf("corrupt: %d bad resources, Corrupted() = %v", bad, p.Corrupted())
				}
			}
			if p.Injected() != 1 || p.InjectedByKind()[kind] != 1 {
				t.Fatalf("Injected() = %d, by kind %v", p.Injected(), p.InjectedByKind())
			}
			// SetFaults to rate 0 lets requests through again.
			p.SetFaults(Faults{})
			if resp, _, err := get(p); err != nil || resp.StatusCode != 200 {
				t.Fatalf("after SetFaults(rate 0): %v %v", err, resp)
			}
		})
	}

	t.Run("rate and seed are deterministic", func(t *testing.T) {
		run := func() map[Fault]int {
			p := NewFaultProxy(t, srv.URL, Faults{Rate: 0.2, Seed: 42, Kinds: []Fault{Fault500, Fault429, FaultCorrupt}})
			for range 50 {
				get(p) //nolint:errcheck
			}
			if p.Requests() != 50 {
				t.Fatalf("Requests() = %d", p.Requests())
			}
			return p.InjectedByKind()
		}
		a, b := run(), run()
		total := a[Fault500] + a[Fault429] + a[FaultCorrupt]
		if total < 3 || total > 25 {
			t.Fatalf("20%% of 50 requests gave %d faults (%v)", total, a)
		}
		for _, k := range AllFaults {
			if a[k] != b[k] {
				t.Fatalf("same seed, different faults: %v vs %v", a, b)
			}
		}
	})
}
