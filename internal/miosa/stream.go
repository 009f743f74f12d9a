package miosa

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// This file reads one page of a list as a stream: row by row, each row
// bounded in size, so that the memory a list takes is that of one row and
// not that of the body.

// errRowTooLarge: one value of a list (a row, or another member of its
// envelope) is larger than MaxRowSize.
var errRowTooLarge = fmt.Errorf("%w: a row of the list is larger than %d KiB", ErrResponseTooLarge, MaxRowSize>>10)

// errStop: the caller has what it needs; the rest of the list is not read.
var errStop = errors.New("list read far enough")

// boundedReader hands the JSON decoder no byte past limit, an offset that
// the decoder moves forward before each value it reads: no value can take
// more than MaxRowSize bytes of memory, however large the body.
type boundedReader struct {
	r     io.Reader
	n     int64 // bytes handed on
	limit int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n >= b.limit {
		return 0, errRowTooLarge
	}
	if int64(len(p)) > b.limit-b.n {
		p = p[:b.limit-b.n]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// pageBody is what one page of a list says besides its rows.
type pageBody struct {
	rows       int   // values in the rows array, skipped ones included
	found      bool  // the page holds an array of rows
	page       int64 // the page number the server says it sent; 0 when it does not say
	pageSize   int64 // 0 when not said
	total      int64 // rows in the whole list; -1 when not said
	totalPages int64 // 0 when not said
	hasMore    bool  // has_more: true
	next       string
	defaultID  string
	keys       []string // the envelope's members that said something about the pages
}

// rowKeys name the members of an envelope that may hold a list's rows:
// {"data": [...]} for every list, and the older {"templates": [...]} and
// {"builds": [...]}.
var (
	templateRowKeys = []string{"data", "templates"}
	buildRowKeys    = []string{"data", "builds"}
)

// readPage decodes one page of a list from r: a bare array of rows, or an
// object that holds the rows under one of rowKeys (the first such member
// that is an array) next to what it says about the pages. It calls row for
// every row that is an object, after skipping the first skip of them (rows
// an earlier attempt at the same page handed on already). row returns
// errStop to end the reading there, or another error to fail it; readPage
// returns that error as it is. Every value read, a row or another member,
// is bounded by MaxRowSize.
func readPage(r io.Reader, rowKeys []string, skip int, row func(obj) error) (pageBody, error) {
	pb := pageBody{total: -1}
	br := &boundedReader{r: r}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	arm := func() { br.limit = dec.InputOffset() + MaxRowSize }

	objects := 0 // the rows that are objects: the ones handed to row
	rows := func() error {
		pb.found = true
		for {
			arm()
			if !dec.More() {
				break
			}
			var v any
			arm()
			if err := dec.Decode(&v); err != nil {
				return err
			}
			pb.rows++
			if pb.rows > MaxListRows {
				return ErrListTooLong
			}
			o := asObj(v)
			if o == nil {
				continue
			}
			if objects++; objects <= skip {
				continue
			}
			if err := row(o); err != nil {
				return err
			}
		}
		arm()
		_, err := dec.Token() // ]
		return err
	}

	arm()
	tok, err := dec.Token()
	if err != nil {
		return pb, err
	}
	switch tok {
	case json.Delim('['):
		if err := rows(); err != nil {
			return pb, err
		}
	case json.Delim('{'):
		for {
			arm()
			if !dec.More() {
				break
			}
			arm()
			kt, err := dec.Token()
			if err != nil {
				return pb, err
			}
			key, _ := kt.(string)
			if slices.Contains(envelopeKeys, key) {
				var v any
				arm()
				if err := dec.Decode(&v); err != nil {
					return pb, err
				}
				if pb.member(key, v) {
					pb.keys = append(pb.keys, key)
				}
				continue
			}
			// The rows, or a member skipped unread.
			arm()
			vt, err := dec.Token()
			switch {
			case err != nil:
			case vt == json.Delim('[') && !pb.found && slices.Contains(rowKeys, key):
				err = rows()
			case vt == json.Delim('{') || vt == json.Delim('['):
				err = skipRest(dec, arm)
			}
			if err != nil {
				return pb, err
			}
		}
		arm()
		if _, err := dec.Token(); err != nil { // }
			return pb, err
		}
	}
	if !pb.found {
		return pb, errShape("a list")
	}
	arm()
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("trailing data after JSON value")
		}
		return pb, err
	}
	return pb, nil
}

// envelopeKeys are the members of a list's envelope that say something
// besides the rows (see pageBody.member); others are skipped unread.
var envelopeKeys = []string{"default_template_id", "page", "pagination", "meta", "paging", "links",
	"page_size", "per_page", "total", "total_count", "total_entries", "total_pages", "has_more",
	"next", "next_url", "next_page_url"}

// skipRest reads to the end of an object or array whose opening delimiter
// was just read, token by token.
func skipRest(dec *json.Decoder, arm func()) error {
	for depth := 1; depth > 0; {
		arm()
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// member reads a member of a list's envelope other than its rows: what it
// says about the pages, in the API reference's form ({"page": {"page",
// "page_size", "total"}}) and the ones other APIs use (a "meta" or
// "pagination" object, members at the top level, a "next" link, a "links"
// object), and the default template of the catalog.
// It reports whether the member said something about the pages.
func (pb *pageBody) member(key string, v any) bool {
	switch key {
	case "default_template_id":
		pb.defaultID = toStr(v)
		return false
	case "page", "pagination", "meta", "paging":
		if o := asObj(v); o != nil {
			return pb.info(o)
		}
		if n, ok := toInt(v); ok && key == "page" {
			pb.page = n
			return true
		}
		return false
	}
	if v == nil && (key == "next" || key == "next_url" || key == "next_page_url") {
		return true // no next page
	}
	return pb.info(obj{key: v})
}

// info reads page numbers, sizes, totals and next links from o, and
// reports whether it found any.
func (pb *pageBody) info(o obj) bool {
	found := false
	if n, ok := toInt(o.first("page", "current_page", "page_number")); ok {
		pb.page, found = n, true
	}
	if n, ok := toInt(o.first("page_size", "per_page", "size", "limit")); ok {
		pb.pageSize, found = n, true
	}
	if n, ok := toInt(o.first("total", "total_count", "total_entries", "total_items")); ok {
		pb.total, found = n, true
	}
	if n, ok := toInt(o.first("total_pages", "page_count")); ok {
		pb.totalPages, found = n, true
	}
	if b, ok := toBool(o.first("has_more", "has_next")); ok {
		pb.hasMore, found = pb.hasMore || b, true
	}
	if pb.link(o.first("next", "next_url", "next_page_url", "next_link")) {
		found = true
	}
	if l := asObj(o.first("links")); l != nil && pb.link(l.first("next")) {
		found = true
	}
	return found
}

// link takes a next link given as a string, or as {"href": ...}, and
// reports whether there was one.
func (pb *pageBody) link(v any) bool {
	if s := toStr(v); s != "" {
		if _, isNumber := v.(json.Number); !isNumber {
			pb.next = s
			return true
		}
		return false
	}
	if o := asObj(v); o != nil {
		if s, ok := o.first("href").(string); ok {
			pb.next = s
			return true
		}
	}
	return false
}
