package dashboard

import (
	"strings"
	"unicode"
)

// segment is one piece of a remediation: prose, or a shell command the
// operator can copy.
type segment struct {
	Text    string
	Command bool
}

// commandWords start a shell command inside remediation prose.
var commandWords = map[string]bool{
	"sudo": true, "apt-get": true, "apt": true, "echo": true, "systemctl": true,
	"journalctl": true, "ssh-keygen": true, "dig": true, "uptime": true, "df": true,
	"chmod": true, "chown": true, "usermod": true, "visudo": true, "ufw": true,
	"chage": true, "passwd": true, "ssh": true, "curl": true, "wp": true,
	"nginx": true, "php-fpm": true, "mkdir": true, "tee": true,
	"cloud-init": true, "ps": true,
}

// introWords precede a command in running text ("run sudo -n true").
var introWords = []string{"run ", "read ", "Run ", "Read "}

// proseStops end a command that was not opened by a parenthesis.
var proseStops = []string{" to ", " if ", " or re-run", ", then", ", and ", " and restart", " and check"}

// splitRemediation cuts remediation prose into text and command segments.
// The registry writes commands after a colon ("Install php-fpm: sudo
// apt-get ..."), in parentheses ("(sudo journalctl -u ssh)") or after
// "run"/"read"; everything else stays prose. Joining the segments' Text
// gives back s exactly.
func splitRemediation(s string) []segment {
	var out []segment
	prose := 0 // start of the pending prose
	i := 0
	for i < len(s) {
		start, end, ok := commandAt(s, i)
		if !ok {
			i++
			continue
		}
		if start > prose {
			out = append(out, segment{Text: s[prose:start]})
		}
		out = append(out, segment{Text: s[start:end], Command: true})
		prose, i = end, end
	}
	if prose < len(s) {
		out = append(out, segment{Text: s[prose:]})
	}
	return out
}

// commandAt reports whether a command starts at or right after position
// i and where it ends.
func commandAt(s string, i int) (start, end int, ok bool) {
	switch {
	case s[i] == '(':
		start = i + 1
		if !startsCommand(s[start:]) {
			return 0, 0, false
		}
		closing := strings.IndexByte(s[start:], ')')
		if closing < 0 {
			return 0, 0, false
		}
		return start, start + closing, true
	case strings.HasPrefix(s[i:], ": ") || strings.HasPrefix(s[i:], "; "):
		start = i + 2
	default:
		for _, w := range introWords {
			if strings.HasPrefix(s[i:], w) && (i == 0 || s[i-1] == ' ') {
				start = i + len(w)
				break
			}
		}
		if start == 0 {
			return 0, 0, false
		}
	}
	if !startsCommand(s[start:]) {
		return 0, 0, false
	}
	return start, start + commandEnd(s[start:]), true
}

func startsCommand(s string) bool {
	word, _, _ := strings.Cut(s, " ")
	return commandWords[strings.TrimSuffix(word, ";")]
}

// commandEnd is the length of the command at the start of s that runs in
// prose: up to a sentence end, an opening parenthesis, a "; " before
// prose, an unmatched closing parenthesis, or a prose phrase.
func commandEnd(s string) int {
	end := len(s)
	cut := func(n int) {
		if n >= 0 && n < end {
			end = n
		}
	}
	depth := 0 // parentheses opened inside the command, as in ALL=(ALL)
	for j := 0; j < len(s); j++ {
		switch {
		case s[j] == '(' && (j == 0 || s[j-1] != ' '):
			depth++
		case s[j] == ')' && depth > 0:
			depth--
		case s[j] == ')':
			cut(j)
		case s[j] == '.' && (j == len(s)-1 || (j+2 < len(s) && s[j+1] == ' ' && unicode.IsUpper(rune(s[j+2])))):
			cut(j)
		case strings.HasPrefix(s[j:], " ("):
			cut(j)
		case strings.HasPrefix(s[j:], "; ") && !startsCommand(s[j+2:]):
			cut(j)
		}
		if end != len(s) {
			break
		}
	}
	for _, p := range proseStops {
		cut(strings.Index(s, p))
	}
	return end
}
