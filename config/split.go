package config

import (
	"bytes"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Large pipeline files are parsed in pieces, in parallel. HCL's lexer keeps
// every token of a file in one growing slice, which dominates the load time
// of a 10,000-step file; pieces of a few hundred kilobytes avoid that and
// use both cores. A file is only split at lines where a top-level block
// starts, found by a scanner that follows strings, templates, comments and
// heredocs; whenever it is unsure, the file is parsed whole.

const (
	splitMinSize   = 64 << 10 // smaller files are parsed whole
	splitPieceSize = 64 << 10 // aim for pieces about this large
)

// parseConfig parses src like hclsyntax.ParseConfig, in parallel pieces
// when the file is large and cleanly splittable.
func parseConfig(src []byte, filename string) (*hcl.File, hcl.Diagnostics) {
	return parsePieces(src, filename, splitMinSize, splitPieceSize)
}

func parsePieces(src []byte, filename string, minSize, pieceSize int) (*hcl.File, hcl.Diagnostics) {
	if len(src) < minSize {
		return hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	}
	cuts := blockStarts(src)
	if len(cuts) < 2 {
		return hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	}
	// Group block starts into pieces of about splitPieceSize.
	type piece struct{ start, end int }
	var pieces []piece
	begin := 0
	for _, c := range cuts[1:] {
		if c.byte-begin >= pieceSize {
			pieces = append(pieces, piece{begin, c.byte})
			begin = c.byte
		}
	}
	pieces = append(pieces, piece{begin, len(src)})
	if len(pieces) < 2 {
		return hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	}
	posAt := map[int]hcl.Pos{0: hcl.InitialPos}
	for _, c := range cuts {
		posAt[c.byte] = hcl.Pos{Line: c.line, Column: 1, Byte: c.byte}
	}

	files := make([]*hcl.File, len(pieces))
	diags := make([]hcl.Diagnostics, len(pieces))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, p := range pieces {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, p piece) {
			defer wg.Done()
			defer func() { <-sem }()
			// The piece is parsed in a copy of the whole file's bytes up to
			// its end, so ranges are absolute; only [start, end) is lexed.
			files[i], diags[i] = hclsyntax.ParseConfig(src[p.start:p.end], filename, posAt[p.start])
		}(i, p)
	}
	wg.Wait()

	var all hcl.Diagnostics
	body := &hclsyntax.Body{
		Attributes: hclsyntax.Attributes{},
		SrcRange:   hcl.Range{Filename: filename, Start: hcl.InitialPos, End: endPos(src)},
	}
	for i, f := range files {
		all = append(all, diags[i]...)
		if f == nil {
			return hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
		}
		b := f.Body.(*hclsyntax.Body)
		if len(b.Attributes) > 0 {
			// Top-level attributes are an error later anyway; let the
			// whole-file parse report everything in its own order.
			return hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
		}
		body.Blocks = append(body.Blocks, b.Blocks...)
	}
	if all.HasErrors() {
		// Report syntax errors exactly as a whole-file parse would.
		return hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	}
	body.EndRange = hcl.Range{Filename: filename, Start: body.SrcRange.End, End: body.SrcRange.End}
	return &hcl.File{Body: body, Bytes: src}, all
}

// endPos is the position just past the end of src.
func endPos(src []byte) hcl.Pos {
	line := 1 + bytes.Count(src, []byte{'\n'})
	col := len(src) - bytes.LastIndexByte(src, '\n')
	return hcl.Pos{Line: line, Column: col, Byte: len(src)}
}

type cut struct{ byte, line int }

// blockStarts returns the offsets of lines where a top-level block begins:
// at bracket depth 0, outside any string, comment or heredoc, the line
// starts with a letter. It returns nil when the scan meets anything it does
// not follow with certainty (unbalanced brackets, an unterminated string).
func blockStarts(src []byte) []cut {
	var cuts []cut
	depth := 0
	line := 1
	atLineStart := true
	// Stack of contexts inside templates: a string or heredoc opened by
	// "${" or "%{" returns to depth counting until its closing brace.
	type tmpl struct{ depthAtOpen int }
	var templates []tmpl
	i := 0
	n := len(src)
	for i < n {
		c := src[i]
		if atLineStart && depth == 0 && len(templates) == 0 && isLetter(c) {
			cuts = append(cuts, cut{byte: i, line: line})
		}
		atLineStart = false
		switch {
		case c == '\n':
			line++
			atLineStart = true
			i++
		case c == '#' || c == '/' && i+1 < n && src[i+1] == '/':
			for i < n && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return nil
			}
			seg := src[i : i+2+end+2]
			line += bytes.Count(seg, []byte{'\n'})
			i += len(seg)
		case c == '"':
			j, lines, ok := skipString(src, i+1)
			if !ok {
				return nil
			}
			line += lines
			i = j
		case c == '<' && i+1 < n && src[i+1] == '<':
			j, lines, ok := skipHeredoc(src, i+2)
			if !ok {
				return nil
			}
			line += lines
			i = j
			atLineStart = true
		case c == '{' || c == '[' || c == '(':
			depth++
			i++
		case c == '}' || c == ']' || c == ')':
			depth--
			if depth < 0 {
				return nil
			}
			i++
		default:
			i++
		}
	}
	if depth != 0 {
		return nil
	}
	return cuts
}

// skipString skips a quoted string starting after its opening quote. It
// returns the offset after the closing quote. Templates inside it (${ })
// may hold nested strings and braces.
func skipString(src []byte, i int) (int, int, bool) {
	lines := 0
	for i < len(src) {
		switch c := src[i]; {
		case c == '\\':
			i += 2
		case c == '"':
			return i + 1, lines, true
		case c == '\n':
			return 0, 0, false // HCL strings do not span lines
		case (c == '$' || c == '%') && i+1 < len(src) && src[i+1] == '{':
			if i+2 < len(src) && src[i-1] == c {
				i += 2 // $${ is an escaped literal
				continue
			}
			j, l, ok := skipTemplateExpr(src, i+2)
			if !ok {
				return 0, 0, false
			}
			lines += l
			i = j
		default:
			i++
		}
	}
	return 0, 0, false
}

// skipTemplateExpr skips the inside of ${ ... } up to its closing brace.
func skipTemplateExpr(src []byte, i int) (int, int, bool) {
	depth, lines := 1, 0
	for i < len(src) {
		switch c := src[i]; c {
		case '"':
			j, l, ok := skipString(src, i+1)
			if !ok {
				return 0, 0, false
			}
			lines += l
			i = j
		case '{':
			depth++
			i++
		case '}':
			depth--
			i++
			if depth == 0 {
				return i, lines, true
			}
		case '\n':
			lines++
			i++
		default:
			i++
		}
	}
	return 0, 0, false
}

// skipHeredoc skips "<<ID" or "<<-ID" (i is after "<<") through the line
// holding only ID. It returns the offset after that line's newline.
func skipHeredoc(src []byte, i int) (int, int, bool) {
	if i < len(src) && src[i] == '-' {
		i++
	}
	start := i
	for i < len(src) && (isLetter(src[i]) || src[i] == '_' || src[i] >= '0' && src[i] <= '9') {
		i++
	}
	if i == start || i >= len(src) || src[i] != '\n' {
		return 0, 0, false
	}
	id := src[start:i]
	lines := 0
	for i < len(src) {
		// i is at a newline: look at the next line.
		i++
		lines++
		end := bytes.IndexByte(src[i:], '\n')
		if end < 0 {
			return 0, 0, false
		}
		if bytes.Equal(bytes.TrimSpace(src[i:i+end]), id) {
			return i + end + 1, lines + 1, true
		}
		i += end
	}
	return 0, 0, false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
