// Package fhirsync brings FHIR data into the store: from files today, and
// from upstream FHIR servers.
package fhirsync

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/mycarerecord/portal/store"
	"github.com/mycarerecord/portal/store/fhir"
)

// File is one file's resources, ready to import in one transaction.
type File struct {
	Path      string
	Resources []fhir.Resource
	// Rejected are an NDJSON file's lines that do not read as a resource,
	// to keep aside with why (store.PageUpdate.Rejected) while the rest is stored.
	Rejected []store.Rejected
	// Skipped are a Bundle's entries left out, each with its place and why,
	// e.g. "entry 4: its resource is null, so there was nothing to import".
	Skipped []string
}

// maxFileSize bounds what one file may hold, so a wrong path cannot exhaust memory.
const maxFileSize = 512 << 20

// isFHIRFile reports whether a name looks like a Bundle (.json) or NDJSON (.ndjson, .jsonl) file.
func isFHIRFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".ndjson", ".jsonl":
		return true
	}
	return false
}

// ListFiles returns path itself when it is a file, or the FHIR files under it, sorted, when it is a folder.
// A folder under path that cannot be read is skipped: the files found
// beside it are returned with a *SkippedError naming it.
func ListFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var names []string
	var skipped SkippedError
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// A folder that cannot be read, e.g. another user's: the rest can still be imported.
			skipped.Folders = append(skipped.Folders, fmt.Errorf("%s: %w", p, unwrapPathError(err)))
			return nil
		}
		if d.IsDir() && p != path && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && isFHIRFile(d.Name()) {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	}
	slices.Sort(names)
	if len(skipped.Folders) > 0 {
		return names, &skipped
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: the folder has no .json, .ndjson or .jsonl files", path)
	}
	return names, nil
}

// SkippedError names the folders ListFiles could not read, each as
// "PATH: reason", e.g. "records/2024: permission denied".
type SkippedError struct {
	Folders []error
}

func (e *SkippedError) Error() string { return errors.Join(e.Folders...).Error() }

func (e *SkippedError) Unwrap() []error { return e.Folders }

// ReadFile reads a Bundle (.json) or NDJSON (.ndjson, .jsonl) file. Its errors begin with the path.
// Only a regular file is read: a device such as /dev/zero never ends, and a
// named pipe waits for a writer, so neither is held to the size limit.
func ReadFile(path string) (File, error) {
	data, err := readRegular(path)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	if data, err = fhir.UTF8(data); err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	f := File{Path: path}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ndjson", ".jsonl":
		// Each line is a resource of its own: one that does not read is kept
		// aside and the rest stored, unless none reads, when this is no NDJSON.
		var bad []fhir.BadLine
		f.Resources, bad = fhir.ReadNDJSON(data)
		if len(bad) > 0 && len(f.Resources) == 0 {
			err = bad[0].Err
		}
		for _, b := range bad {
			typ, id := peek(b.Raw)
			f.Rejected = append(f.Rejected, store.Rejected{Type: typ, ID: id, Error: b.Err.Error(), Raw: b.Raw})
		}
	default:
		var skipped []fhir.Skipped
		f.Resources, skipped, err = fhir.ReadBundle(data)
		for _, s := range skipped {
			f.Skipped = append(f.Skipped, s.String())
		}
	}
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// readRegular reads a regular file of at most maxFileSize bytes.
func readRegular(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if err := regular(info); err != nil {
		return nil, err
	}
	// Not blocking, in case a pipe took the file's place since: opening one
	// would wait for a writer.
	file, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer file.Close()
	if info, err = file.Stat(); err != nil {
		return nil, unwrapPathError(err)
	}
	if err := regular(info); err != nil {
		return nil, err
	}
	tooBig := func(size int64) error {
		return fmt.Errorf("the file is %d MB; the most one file may hold is %d MB", size>>20, maxFileSize>>20)
	}
	if info.Size() > maxFileSize {
		return nil, tooBig(info.Size())
	}
	// A file that grows while it is read is still held to the limit.
	data, err := io.ReadAll(io.LimitReader(file, maxFileSize+1))
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if len(data) > maxFileSize {
		return nil, tooBig(int64(len(data)))
	}
	return data, nil
}

// regular refuses what is not a regular file, saying what it is.
func regular(info fs.FileInfo) error {
	if what := notRegular(info); what != "" {
		return fmt.Errorf("this is %s, not a regular file: import reads only files saved on disk, so save what it gives to a file first", what)
	}
	return nil
}

// notRegular says what info is when it is not a regular file ("" when it is).
func notRegular(info fs.FileInfo) string {
	m := info.Mode()
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// unwrapPathError drops the path an *fs.PathError repeats, since the caller already names it.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
