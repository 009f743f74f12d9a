package spec

import (
	"cmp"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/miosa-dev/sandbox-templates-action/internal/diag"
)

// Load finds the template files matched by opts.Patterns under opts.Root and
// reads them. Every problem with a file is a diagnostic; the error is only for
// a root that cannot be used. A template is returned whenever its build_spec
// could be read, even if the file has other problems: callers must check the
// diagnostics before acting. Templates are sorted by name, then file.
func Load(opts Options) ([]*Template, diag.List, error) {
	if opts.Root == "" {
		opts.Root = "."
	}
	if len(opts.Patterns) == 0 {
		opts.Patterns = DefaultPatterns
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve root: %w", err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, nil, fmt.Errorf("open root: %w", err)
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("open root: %s is not a directory", root)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve root: %w", err)
	}

	files, diags := match(root, opts.Patterns, opts.MaxFiles, opts.IfNoFiles)
	results := make([]fileResult, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(len(files), runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				results[i] = loadFile(root, realRoot, files[i], opts.MaxFileSize)
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()

	var ts []*Template
	for _, r := range results {
		diags = append(diags, r.diags...)
		if r.t != nil {
			ts = append(ts, r.t)
		}
	}
	diags = append(diags, duplicates(ts)...)
	slices.SortFunc(ts, func(a, b *Template) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.File, b.File))
	})
	diags.Sort()
	return ts, diags, nil
}

// fileResult is what loading one file produced.
type fileResult struct {
	t     *Template
	diags diag.List
}

// match expands the patterns to a sorted, de-duplicated list of
// repo-relative paths (forward slashes). Patterns are doublestar globs: "**"
// matches any number of directories, and a pattern with "**" matches files
// only. "**" does not descend into symlinked directories, so a link loop
// cannot make the walk endless; a matched symlink is checked by loadFile
// like any other. The walk stops once more than countFiles*maxFiles files
// match.
func match(root string, patterns []string, maxFiles int, ifNoFiles string) ([]string, diag.List) {
	var diags diag.List
	fsys := os.DirFS(root)
	seen := map[string]bool{}
	var files []string
	tooMany := errors.New("too many files")
	for _, p := range patterns {
		shown := displayPath(p)
		clean := path.Clean(filepath.ToSlash(strings.TrimSpace(p)))
		if clean == "." || strings.HasPrefix(clean, "/") || filepath.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../") {
			diags = append(diags, fileDiag(shown, 0, 0, "", "pattern",
				"path pattern must be relative to the repository root and stay inside it"))
			continue
		}
		if !doublestar.ValidatePattern(clean) {
			diags = append(diags, fileDiag(shown, 0, 0, "", "pattern", "invalid glob pattern: "+path.ErrBadPattern.Error()))
			continue
		}
		var opts []doublestar.GlobOption
		if strings.Contains(clean, "**") {
			opts = append(opts, doublestar.WithNoFollow(), doublestar.WithFilesOnly())
		}
		err := doublestar.GlobWalk(fsys, clean, func(m string, _ fs.DirEntry) error {
			if !seen[m] {
				seen[m] = true
				files = append(files, m)
			}
			if len(files) > countFiles*maxFiles {
				return tooMany
			}
			return nil
		}, opts...)
		if errors.Is(err, tooMany) {
			break
		}
		if err != nil {
			diags = append(diags, fileDiag(shown, 0, 0, "", "pattern", "invalid glob pattern: "+err.Error()))
		}
	}
	slices.Sort(files)
	if len(files) > maxFiles {
		n := strconv.Itoa(len(files))
		if len(files) > countFiles*maxFiles {
			n = "more than " + strconv.Itoa(countFiles*maxFiles)
		}
		diags = append(diags, fileDiag(displayPath(strings.Join(patterns, ", ")), 0, 0, "", "too-many-files",
			fmt.Sprintf("%s files match; at most %d template files are read (narrow the path patterns)", n, maxFiles)))
		return nil, diags
	}
	if len(files) == 0 && len(diags) == 0 && ifNoFiles != NoFilesIgnore {
		d := fileDiag(displayPath(strings.Join(patterns, ", ")), 0, 0, "", "no-files", noFilesMessage(fsys, patterns))
		if ifNoFiles == NoFilesWarn {
			d.Severity = diag.Warning
		} else {
			d.Message += "; if that is expected, set if-no-files-found to warn or ignore"
		}
		diags = append(diags, d)
	}
	return files, diags
}

// noFilesMessage says that nothing matched and, when no pattern's directory
// exists, which directory is missing: the usual cause, a misspelt path.
func noFilesMessage(fsys fs.FS, patterns []string) string {
	var missing []string
	for _, p := range patterns {
		base, _ := doublestar.SplitPattern(path.Clean(filepath.ToSlash(strings.TrimSpace(p))))
		if base == "." {
			return "no template files match"
		}
		if fi, err := fs.Stat(fsys, base); err == nil && fi.IsDir() {
			return "no template files match"
		}
		if !slices.Contains(missing, base) {
			missing = append(missing, base)
		}
	}
	if len(missing) == 0 {
		return "no template files match"
	}
	return "no template files match: there is no directory " + displayPath(strings.Join(missing, " or "))
}

// countFiles bounds the walk of patterns that match too many files: up to
// countFiles times the limit, the message says how many match.
const countFiles = 10

// fileDiag builds an error diagnostic.
func fileDiag(file string, line, col int, field, rule, msg string) diag.Diagnostic {
	return diag.Diagnostic{Path: file, Line: line, Col: col, Field: field, Message: msg, Rule: rule, Severity: diag.Error}
}

// loadFile checks and reads one matched file. It looks at the file with
// Lstat before opening it, so FIFOs, devices and symlinks out of the root are
// never opened.
func loadFile(root, realRoot, rel string, maxSize int64) fileResult {
	shown := displayPath(rel)
	fail := func(rule, msg string) fileResult {
		return fileResult{diags: diag.List{fileDiag(shown, 0, 0, "", rule, msg)}}
	}
	if why := oddName(rel); why != "" {
		return fail("file-name", why+"; rename the file")
	}
	abs := filepath.Join(root, filepath.FromSlash(rel))
	lfi, err := os.Lstat(abs)
	if err != nil {
		return fail("read", "cannot read file: "+errText(err))
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if lfi.Mode()&fs.ModeSymlink != 0 {
			return fail("symlink", "symlink target does not exist or cannot be resolved")
		}
		return fail("read", "cannot resolve path: "+errText(err))
	}
	if r, err := filepath.Rel(realRoot, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return fail("symlink", "symlink resolves to a path outside the repository; template files must live in the repository")
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return fail("read", "cannot read file: "+errText(err))
	}
	if msg := badMode(fi.Mode()); msg != "" {
		return fail("file-type", msg)
	}
	if fi.Size() > maxSize {
		return fail("file-size", fmt.Sprintf("file is %s; the limit is %s", size(fi.Size()), size(maxSize)))
	}
	f, err := os.Open(real)
	if err != nil {
		return fail("read", "cannot open file: "+errText(err))
	}
	defer f.Close()
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) || !ofi.Mode().IsRegular() {
		return fail("file-type", "file changed while it was being read")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return fail("read", "cannot read file: "+errText(err))
	}
	if int64(len(data)) > maxSize {
		return fail("file-size", fmt.Sprintf("file is larger than the limit of %s", size(maxSize)))
	}
	t, diags := Parse(rel, data)
	if t != nil {
		t.Blob = BlobID(data)
	}
	return fileResult{t: t, diags: diags}
}

// BlobID is git's object id of a file holding data: the hex sha1 of
// "blob <size>\x00" followed by data, as `git hash-object` prints it.
func BlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// badMode explains why a file of this mode cannot be a template file.
func badMode(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "is a directory, not a template file"
	case m&fs.ModeNamedPipe != 0:
		return "is a named pipe (FIFO), not a regular file; it was not opened"
	case m&fs.ModeSocket != 0:
		return "is a socket, not a regular file"
	case m&fs.ModeDevice != 0:
		return "is a device, not a regular file; it was not opened"
	default:
		return "is not a regular file (mode " + m.String() + ")"
	}
}

// errText is an I/O error without the absolute path, which would leak the
// runner's directory layout into the log.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// size renders a byte count for a message.
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	default:
		return strconv.FormatInt(n, 10) + " bytes"
	}
}

// duplicates reports templates that share a name, at each location, naming
// the others.
func duplicates(ts []*Template) diag.List {
	byName := map[string][]*Template{}
	for _, t := range ts {
		byName[t.Name] = append(byName[t.Name], t)
	}
	var diags diag.List
	for name, group := range byName {
		if len(group) < 2 {
			continue
		}
		for _, t := range group {
			var others []string
			for _, o := range group {
				if o != t {
					others = append(others, fmt.Sprintf("%s:%d:%d", o.File, o.Line, o.Col))
				}
			}
			slices.Sort(others)
			diags = append(diags, fileDiag(t.File, t.Line, t.Col, "name", "duplicate-name",
				fmt.Sprintf("template name %s is also used by %s; names must be unique", diag.Quote(name), strings.Join(others, ", "))))
		}
	}
	return diags
}
