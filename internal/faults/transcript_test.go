package faults

import (
	"bytes"
	"encoding/binary"
)

// kexEnd returns the offset just past the first SSH_MSG_NEWKEYS packet
// of one side's stream (banner, then plaintext binary packets), or -1.
// Up to NEWKEYS the packets are unencrypted: uint32 packet_length, byte
// padding_length, payload (first byte: message number), padding.
func kexEnd(stream []byte) int {
	i := bytes.Index(stream, []byte("\r\n"))
	if i < 0 {
		return -1
	}
	off := i + 2
	for off+6 <= len(stream) {
		plen := int(binary.BigEndian.Uint32(stream[off:]))
		msg := stream[off+5]
		next := off + 4 + plen
		if plen < 2 || next > len(stream) {
			return -1
		}
		if msg == 21 { // SSH_MSG_NEWKEYS
			return next
		}
		off = next
	}
	return -1
}
