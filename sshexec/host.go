package sshexec

import (
	"errors"
	"net/netip"
)

// ErrInvalidHost is wrapped by CheckHost's errors.
var ErrInvalidHost = errors.New("sshexec: invalid host")

// CheckHost accepts a bare IP address (IPv4, or IPv6 without brackets) or
// a DNS hostname: labels of 1 to 63 letters, digits, '-' or '_', not
// starting or ending with '-', 253 bytes at most, an optional trailing
// dot. Anything else (a port, brackets, a user, whitespace, quotes, shell
// metacharacters, NUL, a leading '-') is an error wrapping ErrInvalidHost
// and is never dialed or resolved: a host is data, and it must not be
// able to look like an option or a command to any tool that is given it.
func CheckHost(host string) error {
	if host == "" {
		return errors.Join(ErrInvalidHost, errors.New("empty host"))
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	name := host
	if name[len(name)-1] == '.' {
		name = name[:len(name)-1]
	}
	if len(name) == 0 || len(name) > 253 {
		return errors.Join(ErrInvalidHost, errors.New("host name length out of range"))
	}
	label := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if label == 0 || name[i-1] == '-' {
				return errors.Join(ErrInvalidHost, errors.New("host name has an empty label or a label ending in '-'"))
			}
			label = 0
			continue
		case c == '-':
			if label == 0 {
				return errors.Join(ErrInvalidHost, errors.New("host name label starts with '-'"))
			}
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		default:
			return errors.Join(ErrInvalidHost, errors.New("host must be a bare hostname or IP address (letters, digits, '-', '.'; no port, brackets, user or shell characters)"))
		}
		label++
		if label > 63 {
			return errors.Join(ErrInvalidHost, errors.New("host name label longer than 63 bytes"))
		}
	}
	if name[len(name)-1] == '-' {
		return errors.Join(ErrInvalidHost, errors.New("host name label ends in '-'"))
	}
	return nil
}
