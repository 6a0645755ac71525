package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// value is a flag.Value that also names its type for the usage text.
type value interface {
	flag.Value
	// Type is how the usage text names what Set takes.
	Type() string
}

var (
	_ value = stringValue{}
	_ value = intValue[int]{}
	_ value = boolValue{}
	_ value = durationValue{}
	_ value = bytesValue[int64]{}
	_ value = listValue{}
)

// stringValue is a string; every text is valid.
type stringValue struct{ p *string }

func (v stringValue) Set(s string) error { *v.p = s; return nil }
func (v stringValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}
func (stringValue) Type() string { return "string" }

// intValue is a decimal integer that fits in T.
type intValue[T int | int64 | uint32] struct{ p *T }

func (v intValue[T]) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case s == "":
		return errors.New("empty, want an integer")
	case errors.Is(err, strconv.ErrRange) || err == nil && int64(T(n)) != n:
		return fmt.Errorf("integer out of range: %q", s)
	case err != nil:
		return fmt.Errorf("not an integer: %q", s)
	}
	*v.p = T(n)
	return nil
}
func (v intValue[T]) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(int64(*v.p), 10)
}
func (intValue[T]) Type() string { return "int" }

// boolValue is true or false (or 1, t, T, TRUE... as strconv.ParseBool
// reads them). As a flag it may stand alone for true.
type boolValue struct{ p *bool }

func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		if s == "" {
			return errors.New("empty, want true or false")
		}
		return fmt.Errorf("not true or false: %q", s)
	}
	*v.p = b
	return nil
}
func (v boolValue) String() string { return strconv.FormatBool(v.p != nil && *v.p) }
func (boolValue) Type() string     { return "bool" }

// IsBoolFlag lets the flag stand alone: --flag is --flag=true.
func (boolValue) IsBoolFlag() bool { return true }

// durationValue is a time.Duration as time.ParseDuration reads it.
type durationValue struct{ p *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		if s == "" {
			return errors.New("empty, want a duration such as 30s")
		}
		return fmt.Errorf("not a duration: %q (want a number with a unit: 300ms, 30s, 5m, 72h)", s)
	}
	*v.p = d
	return nil
}
func (durationValue) Type() string { return "duration" }
func (v durationValue) String() string {
	if v.p == nil {
		return "0s"
	}
	return formatDuration(*v.p)
}

// formatDuration is d.String() without zero minutes and seconds after
// larger units: 72h, not 72h0m0s. time.ParseDuration reads it back.
func formatDuration(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// bytesValue is a size in bytes as parseBytes reads it, shown in the largest
// exact unit (64MiB, not 67108864).
type bytesValue[T int | int64] struct{ p *T }

func (v bytesValue[T]) Set(s string) error {
	n, err := parseBytes(s)
	if err != nil {
		return err
	}
	if int64(T(n)) != n {
		return fmt.Errorf("size %q is too large", s)
	}
	*v.p = T(n)
	return nil
}
func (v bytesValue[T]) String() string {
	if v.p == nil {
		return "0"
	}
	return formatBytes(int64(*v.p))
}
func (bytesValue[T]) Type() string { return "size" }

// listValue is a comma-separated list; blank items are dropped.
type listValue struct{ p *[]string }

func (v listValue) Set(s string) error {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	*v.p = out
	return nil
}
func (v listValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}
func (listValue) Type() string { return "list" }

// A binder binds a setting to its field of a configuration.
type binder func(*config) value

func strField(p func(*config) *string) binder {
	return func(c *config) value { return stringValue{p(c)} }
}

func intField[T int | int64 | uint32](p func(*config) *T) binder {
	return func(c *config) value { return intValue[T]{p(c)} }
}

func boolField(p func(*config) *bool) binder {
	return func(c *config) value { return boolValue{p(c)} }
}

func durField(p func(*config) *time.Duration) binder {
	return func(c *config) value { return durationValue{p(c)} }
}

func bytesField[T int | int64](p func(*config) *T) binder {
	return func(c *config) value { return bytesValue[T]{p(c)} }
}

func listField(p func(*config) *[]string) binder {
	return func(c *config) value { return listValue{p(c)} }
}

// setting binds one configuration field to a flag and an environment
// variable. Either name may be empty (no flag: a secret; no variable).
type setting struct {
	flag string
	env  string
	// key is the setting's dotted key in the YAML file (and in Validate's
	// messages).
	key string
	// arg names what the setting takes in the usage text when the value's
	// type says too little ("host:port", "batch|interval").
	arg   string
	help  string
	field binder
}

// section is a titled group of settings in the usage text.
type section struct {
	title    string
	settings []setting
}

// occurrence is one flag on the command line, applied after the file and
// the environment.
type occurrence struct {
	s   *setting
	val string
}

// recorder is the flag.Value registered for a setting: it only records
// what the command line says, so that flags apply last and every bad value
// is reported with the other problems instead of stopping the parse.
type recorder struct {
	s      *setting
	isBool bool
	seen   *[]occurrence
}

func (r recorder) Set(s string) error {
	*r.seen = append(*r.seen, occurrence{r.s, s})
	return nil
}
func (r recorder) String() string   { return "" }
func (r recorder) IsBoolFlag() bool { return r.isBool }

// newFlagSet registers the settings' flags on a silent flag set: parse
// errors are returned, not printed, and -h/--help is flag.ErrHelp. The
// flags parsed are appended to seen, in order.
func newFlagSet(name string, sections []section, seen *[]occurrence) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var scratch config
	for i := range sections {
		for j := range sections[i].settings {
			s := &sections[i].settings[j]
			if s.flag == "" {
				continue
			}
			_, isBool := s.field(&scratch).(boolValue)
			fs.Var(recorder{s: s, isBool: isBool, seen: seen}, s.flag, s.help)
		}
	}
	return fs
}

// parseFlags parses args with fs, turning the flag package's message for
// an unknown flag into one that names it as it was typed.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		for _, a := range args {
			if n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); n == name && strings.HasPrefix(a, "-") {
				return fmt.Errorf("unknown flag %s", strings.SplitN(a, "=", 2)[0])
			}
		}
		return fmt.Errorf("unknown flag -%s", name)
	}
	return err
}

// applyEnv sets cfg from the settings' environment variables. A variable
// that is set counts even when empty: it means what the flag with the same
// value means.
// The YAML key of each setting applied is recorded in from, with its
// source.
func applyEnv(cfg *config, sections []section, lookup func(string) (string, bool), from map[string]string) []error {
	var errs []error
	for _, sec := range sections {
		for _, s := range sec.settings {
			if s.env == "" {
				continue
			}
			if v, ok := lookup(s.env); ok {
				if err := s.field(cfg).Set(v); err != nil {
					errs = append(errs, fmt.Errorf("$%s: %w", s.env, err))
				} else if s.key != "" {
					from[s.key] = "$" + s.env
				}
			}
		}
	}
	return errs
}

// applyFlags sets cfg from the flags parsed, in command-line order, and
// records their sources in from as applyEnv does.
func applyFlags(cfg *config, seen []occurrence, from map[string]string) []error {
	var errs []error
	for _, o := range seen {
		if err := o.s.field(cfg).Set(o.val); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", o.s.flag, err))
		} else if o.s.key != "" {
			from[o.s.key] = "--" + o.s.flag
		}
	}
	return errs
}

// withSources adds to each of Validate's problems that starts with a
// setting's YAML key the flag or variable that set it, if one did (the
// others come from the file or the defaults).
func withSources(err error, from map[string]string) []error {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
		msg, best := e.Error(), ""
		for key := range from {
			if len(key) > len(best) && strings.HasPrefix(msg, key) && (len(msg) == len(key) || strings.ContainsRune(" :", rune(msg[len(key)]))) {
				best = key
			}
		}
		if best != "" {
			out[i] = fmt.Errorf("%w (set by %s)", e, from[best])
		}
	}
	return out
}

// printSettings writes the settings of sections with their flags,
// variables, types and defaults (the values in def).
func printSettings(w io.Writer, sections []section, def *config) {
	for _, sec := range sections {
		fmt.Fprintf(w, "\n%s:\n", sec.title)
		for _, s := range sec.settings {
			v := s.field(def)
			arg := s.arg
			if arg == "" {
				arg = v.Type()
			}
			var names []string
			if s.flag != "" {
				names = append(names, "--"+s.flag+" "+arg)
			}
			if s.env != "" {
				names = append(names, "$"+s.env)
			}
			if s.flag == "" {
				names[len(names)-1] += " " + arg
			}
			dflt := v.String()
			switch v.(type) {
			case stringValue, listValue:
				dflt = strconv.Quote(dflt)
			}
			help := s.help
			if s.key != "" {
				help += " [YAML " + s.key + "]"
			}
			fmt.Fprintf(w, "  %s (default %s)\n", strings.Join(names, ", "), dflt)
			for _, line := range wrap(help, 72) {
				fmt.Fprintf(w, "        %s\n", line)
			}
		}
	}
}

// wrap breaks text into lines of at most width bytes at spaces (a longer
// word gets a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
