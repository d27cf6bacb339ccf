package probe

import _ "embed"

// ScriptVersion is the protocol version of the probe script: the number its
// header line carries and the only one Parse accepts. It changes whenever
// the script's records or their meaning change.
const ScriptVersion = 3

// Command is the exec request the probe sends. The script itself travels on
// stdin, so the command is the same for every node and works whatever the
// user's login shell is, as long as that shell runs commands at all.
const Command = "exec /bin/sh -s"

//go:embed script.sh
var script string

// scriptBytes is the script as the stdin of every probe; sshexec only
// reads it.
var scriptBytes = []byte(script)

// Script returns the probe script, a constant POSIX sh text. Nothing about
// the node or the request is ever spliced into it.
func Script() string { return script }
