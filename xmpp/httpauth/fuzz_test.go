package httpauth

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// newFormRequest builds the request a chat server would send: GET, or
// POST with a body of contentType ("": no Content-Type header).
func newFormRequest(post bool, rawQuery, contentType string, body []byte) *http.Request {
	r := &http.Request{
		Method: http.MethodGet,
		URL:    &url.URL{Path: "/auth/check_password", RawQuery: rawQuery},
		Header: http.Header{},
		Body:   http.NoBody,
	}
	if post {
		r.Method = http.MethodPost
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// FuzzParseRequest: parseRequest never panics, never accepts a form body
// over maxForm, and what it reads, sent again as a query string or (within
// maxForm) as a form body, reads back the same.
func FuzzParseRequest(f *testing.F) {
	const form = "application/x-www-form-urlencoded"
	f.Add(false, "user=alice&server=chat.test&pass=secret-pw", "", []byte(nil))
	f.Add(true, "", form, []byte("user=alice&server=chat.test&pass=secret-pw"))
	f.Add(true, "user=query", form, []byte("user=body&user=again"))
	f.Add(true, "", form, []byte("user="+strings.Repeat("x", maxForm)))
	f.Fuzz(func(t *testing.T, post bool, rawQuery, contentType string, body []byte) {
		q, err := parseRequest(httptest.NewRecorder(), newFormRequest(post, rawQuery, contentType, body), "check_password")
		if err != nil {
			return
		}
		if mt, _, _ := mime.ParseMediaType(contentType); post && mt == form && len(body) > maxForm {
			t.Fatalf("a form body of %d bytes (over %d) accepted", len(body), maxForm)
		}
		if q.method != "check_password" {
			t.Fatalf("method %q, want check_password", q.method)
		}
		again := url.Values{"user": {q.user}, "server": {q.server}, "pass": {q.pass}}.Encode()
		for _, r := range []*http.Request{
			newFormRequest(false, again, "", nil),
			newFormRequest(true, "", form, []byte(again)),
		} {
			got, err := parseRequest(httptest.NewRecorder(), r, "check_password")
			switch {
			case r.Method == http.MethodPost && len(again) > maxForm:
				// Only the body is bounded: a query string is bounded by
				// the server's limit on the request's head.
				if err == nil {
					t.Fatalf("a form body of %d bytes (over %d) accepted", len(again), maxForm)
				}
			case err != nil:
				t.Fatalf("%s of %q: %v", r.Method, again, err)
			case got != q:
				t.Fatalf("%s of %q read %+v, first read %+v", r.Method, again, got, q)
			}
		}
	})
}
