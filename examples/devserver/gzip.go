package main

import (
	"bytes"
	"compress/gzip"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// minGzipSize is the smallest body compressGzip compresses: below it the
// gzip header and the CPU cost more than they save.
const minGzipSize = 1024

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// compressible are the media types compressGzip compresses: the pages,
// their script and style, and the API's JSON.
var compressible = map[string]bool{
	"text/html": true, "application/json": true, "text/css": true,
	"text/javascript": true, "application/javascript": true, "text/plain": true,
}

// compressGzip gzips the answers of next whose media type is compressible
// and whose body is at least minGzipSize bytes, when the client accepts
// gzip. Every compressible answer says Vary: Accept-Encoding, so a cache
// keeps the two forms apart. An answer that already has a
// Content-Encoding (promhttp compresses itself) passes through.
func compressGzip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipResponse{ResponseWriter: w, accepts: acceptsGzip(r.Header.Get("Accept-Encoding"))}
		defer gw.finish()
		next.ServeHTTP(gw, r)
	})
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip: it
// names gzip (or *) without q=0.
func acceptsGzip(h string) bool {
	for part := range strings.SplitSeq(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			q, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
		return q > 0
	}
	return false
}

// gzipResponse holds the status and the first bytes of an answer until it
// knows whether to compress it (a compressible type, and minGzipSize
// bytes or more), then streams the rest through gzip or as is.
type gzipResponse struct {
	http.ResponseWriter
	accepts bool

	status  int          // held until decided
	buf     bytes.Buffer // held body bytes, until decided
	decided bool         // the header is written
	gz      *gzip.Writer // non-nil when compressing
}

func (g *gzipResponse) WriteHeader(status int) {
	if g.status == 0 && !g.decided {
		g.status = status
	}
	if status >= 100 && status < 200 { // informational: pass on
		g.ResponseWriter.WriteHeader(status)
		g.status = 0
	}
}

func (g *gzipResponse) Write(p []byte) (int, error) {
	if g.status == 0 {
		g.status = http.StatusOK
	}
	if g.decided {
		if g.gz != nil {
			return g.gz.Write(p)
		}
		return g.ResponseWriter.Write(p)
	}
	if !g.candidate() {
		g.decide(false)
		return g.ResponseWriter.Write(p)
	}
	g.buf.Write(p)
	if g.buf.Len() >= minGzipSize {
		if err := g.flushHeld(true); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// candidate reports whether the answer may be compressed once big enough.
func (g *gzipResponse) candidate() bool {
	h := g.Header()
	if h.Get("Content-Encoding") != "" || g.status == http.StatusNoContent || g.status == http.StatusNotModified ||
		g.status == http.StatusPartialContent || g.status < 200 {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || !compressible[mt] {
		return false
	}
	h.Add("Vary", "Accept-Encoding")
	return g.accepts
}

// decide writes the header, compressing or not.
func (g *gzipResponse) decide(compress bool) {
	g.decided = true
	if compress {
		h := g.Header()
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		g.gz = gzipWriters.Get().(*gzip.Writer)
		g.gz.Reset(g.ResponseWriter)
	}
	g.ResponseWriter.WriteHeader(g.status)
}

func (g *gzipResponse) flushHeld(compress bool) error {
	g.decide(compress)
	var err error
	if g.gz != nil {
		_, err = g.gz.Write(g.buf.Bytes())
	} else {
		_, err = g.ResponseWriter.Write(g.buf.Bytes())
	}
	g.buf.Reset()
	return err
}

// finish sends what is still held and closes the gzip stream.
func (g *gzipResponse) finish() {
	if !g.decided {
		if g.status == 0 && g.buf.Len() == 0 {
			return // nothing written: the server answers 200 itself
		}
		if g.status == 0 {
			g.status = http.StatusOK
		}
		_ = g.flushHeld(false)
	}
	if g.gz != nil {
		_ = g.gz.Close()
		g.gz.Reset(nil)
		gzipWriters.Put(g.gz)
		g.gz = nil
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (g *gzipResponse) Unwrap() http.ResponseWriter { return g.ResponseWriter }
