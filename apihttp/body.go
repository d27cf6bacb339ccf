package apihttp

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

var errTooLarge = errors.New("apihttp: request body too large")

// readBody reads the whole body, at most max bytes: errTooLarge beyond
// that (also when the host already limited it with http.MaxBytesReader),
// or the read error. A known Content-Length sizes the buffer exactly.
func readBody(r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, errTooLarge
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	size := r.ContentLength
	if size < 0 {
		size = 512
	}
	// One byte more than expected, so that EOF is seen without growing.
	buf := make([]byte, 0, size+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if left := max + 1 - int64(len(buf)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Body.Read(room)
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, errTooLarge
			}
			return nil, err
		}
	}
}

func tooLargeMessage(max int64) string {
	return "request body exceeds " + strconv.FormatInt(max, 10) + " bytes"
}

// unescapeSegment unescapes one path segment as ServeMux does for a
// wildcard; an invalid escape (which a parsed URL cannot carry) is kept.
func unescapeSegment(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}
