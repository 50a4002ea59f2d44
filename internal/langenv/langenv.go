// Package langenv keeps Fyne from logging "Error parsing user locale C" at
// start-up on machines whose locale is C.UTF-8 (Debian's and most
// containers' default). Fyne's lang package reads the message locale while
// it initialises, before main runs, and cannot parse "C" with an encoding
// suffix; every command, the headless ones included, would print three
// lines of error.
//
// It is a module of its own only for its import path: Go initialises
// packages in import-path order where dependencies allow, and
// "early.init/..." sorts before "fyne.io/...", so this package's init runs
// first (TestRunsBeforeFyne in the main package checks it). It sets
// LC_MESSAGES=C, which names the same locale without the suffix, and only
// when neither LC_ALL nor LC_MESSAGES is set and LANG is a C or POSIX
// locale with a suffix: the character type locale (LC_CTYPE, what text
// input uses) is left as it was. Restore undoes it once Fyne has started.
package langenv

import (
	"os"
	"strings"
)

// set records whether init set LC_MESSAGES, for Restore.
var set = fix(os.Getenv, os.Setenv)

// fix sets LC_MESSAGES=C when the message locale would be a suffixed C or
// POSIX locale, and reports whether it did.
func fix(getenv func(string) string, setenv func(string, string) error) bool {
	if getenv("LC_ALL") != "" || getenv("LC_MESSAGES") != "" {
		return false
	}
	lang := getenv("LANG")
	base, _, suffixed := strings.Cut(lang, ".")
	if !suffixed || (base != "C" && base != "POSIX") {
		return false
	}
	return setenv("LC_MESSAGES", "C") == nil
}

// Restore removes the LC_MESSAGES this package set, so that programs the
// process starts see the user's environment.
func Restore() {
	if set {
		os.Unsetenv("LC_MESSAGES")
	}
}
