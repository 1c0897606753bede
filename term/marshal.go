package term

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// TermMarshaler is implemented by types that build their own term.
// MarshalTerm is called on non-nil values only.
type TermMarshaler interface {
	MarshalTerm() (Term, error)
}

// TermUnmarshaler is implemented by types that read themselves from a
// term. UnmarshalTerm is called on a pointer to the value to fill.
type TermUnmarshaler interface {
	UnmarshalTerm(Term) error
}

// MaxMarshalDepth is how deeply Marshal and Unmarshal follow nested values.
// Deeper values, such as a pointer cycle, give ErrTooDeep.
const MaxMarshalDepth = 10000

var (
	// ErrUnsupportedType is returned by Marshal for Go values that have no
	// term form (channels, functions, complex numbers, unsafe pointers) and
	// by Unmarshal for such targets.
	ErrUnsupportedType = errors.New("term: unsupported Go type")
	// ErrMismatch is returned by Unmarshal when the term's kind does not
	// suit the Go type (a tuple for an int, an improper list for a slice).
	ErrMismatch = errors.New("term: term does not fit the Go type")
	// ErrOverflow is returned by Unmarshal when a number does not fit the
	// Go type (300 for a uint8, -1 for a uint, 1.0e300 for a float32).
	ErrOverflow = errors.New("term: number out of range for the Go type")
	// ErrArity is returned by Unmarshal when a record tuple or a list for
	// an array has the wrong number of elements.
	ErrArity = errors.New("term: wrong number of elements")
	// ErrRecordTag is returned by Unmarshal when a record tuple's first
	// element is not the struct's record name.
	ErrRecordTag = errors.New("term: wrong record tag")
	// ErrInvalidTag is returned when a struct's `term:"…"` tags break the
	// rules (an unknown option, omitempty on a record, atom on a non-string).
	ErrInvalidTag = errors.New("term: invalid struct tag")
	// ErrNotFinite is returned by Marshal for a NaN or infinite float,
	// which Erlang cannot hold.
	ErrNotFinite = errors.New("term: float is NaN or infinite")
	// ErrDuplicateKey is returned by Marshal when two keys of a Go map give
	// the same term (such as 1 and int8(1) in a map[any]V).
	ErrDuplicateKey = errors.New("term: two map keys give the same term")
	// ErrInvalidTarget is returned by Unmarshal when it is not given a
	// non-nil pointer, or is given a nil term.
	ErrInvalidTarget = errors.New("term: Unmarshal needs a term and a non-nil pointer")
)

// MarshalError says which Go value Marshal could not convert and why.
type MarshalError struct {
	Path   string       // where in the value: $ then fields and indexes, e.g. $.Sessions[3]
	Type   reflect.Type // the Go type of the value there
	Detail string       // more about the problem, or ""
	Err    error        // the cause: one of the Err values, or a MarshalTerm error
}

func (e *MarshalError) Error() string {
	msg := fmt.Sprintf("term: cannot marshal Go value of type %v at %s: %s", e.Type, e.Path,
		strings.TrimPrefix(e.Err.Error(), "term: "))
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap returns the cause.
func (e *MarshalError) Unwrap() error { return e.Err }

// UnmarshalError says which part of a term Unmarshal could not store in
// which Go type, and why.
type UnmarshalError struct {
	Path   string       // where in the target: $ then fields and indexes, e.g. $.Sessions[3].Loc
	Type   reflect.Type // the Go type of the target there
	Kind   Kind         // the kind of the term there (0 if there is none)
	Detail string       // more about the problem, or ""
	Err    error        // the cause: one of the Err values, or an UnmarshalTerm error
}

func (e *UnmarshalError) Error() string {
	msg := fmt.Sprintf("term: cannot unmarshal %v into Go value of type %v at %s: %s", e.Kind, e.Type, e.Path,
		strings.TrimPrefix(e.Err.Error(), "term: "))
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap returns the cause.
func (e *UnmarshalError) Unwrap() error { return e.Err }

// Marshaler converts Go values to terms and back by the rules given at the
// Marshal function. It remembers what it learns about each struct type (field
// names, options, record name), so a long-lived Marshaler converts many
// values of the same types faster than the Marshal and Unmarshal
// functions, which start from scratch each call. The zero value is ready
// to use; a Marshaler is safe for concurrent use and must not be copied
// after first use. Its memory holds only facts about Go types, so sharing
// one never changes results.
type Marshaler struct {
	structs sync.Map // reflect.Type → *structResult
}

// Marshal converts a Go value to a term by reflection, in the manner of
// encoding/json:
//
//	Go value                       term
//	bool                           true | false
//	int, int8 … int64              integer
//	uint, uint8 … uint64, uintptr  integer (a BigInt above 2^63-1)
//	*big.Int, big.Int              integer
//	float32, float64               float (NaN and infinities are refused)
//	string                         binary, UTF-8 (an atom with the atom option)
//	[]byte, [N]byte                binary
//	other slices and arrays        proper list
//	map[K]V                        map
//	struct                         record tuple {name, F1, F2, …}, or a map
//	pointer                        what it points to; nil is undefined
//	interface                      what it holds; nil is undefined
//	Atom, Int, *Tuple … (any Term) itself
//	TermMarshaler, TermUnmarshaler whatever its method says
//
// # Structs
//
// A struct is a record by default: a tuple whose first element is the
// record name, the struct's type name in snake_case (UserInfo gives
// user_info), followed by the exported fields in declaration order. A
// blank marker field tagged `term:"…"` sets the struct's options, and a
// field's own tag sets the field's:
//
//	type Session struct {
//		_       struct{} `term:"session"`   // record name (default: snake_case type name)
//		ID      int
//		Started int64  `term:"start"`       // a record field's name is only a label
//		Secret  string `term:"-"`           // never marshaled
//		Node    string `term:",atom"`       // an atom, not a binary
//	}
//	// Marshal(Session{ID: 1, Started: 2, Node: "n@h"}) is {session,1,2,'n@h'}
//
//	type Config struct {
//		_       struct{} `term:",map"`       // a map with atom keys
//		Workers int                          // key: workers (snake_case)
//		Backup  string `term:"spare,omitempty"` // key: spare; left out when ""
//	}
//	// Marshal(Config{Workers: 4}) is #{workers => 4}
//
// Struct options (the marker's tag): a record name, and "map" for a map
// (which takes no name). Field options: a name (the map key, or just a
// label for a record field), "-" to skip the field, "omitempty" (map
// structs only) to leave out a zero value, and "atom" (string fields
// only) for an atom instead of a binary. A struct type without a name
// (struct{…} written in place) is a map unless its marker says otherwise.
// Embedded structs are ordinary fields, named after their type.
// Unexported fields are skipped. A tag the rules above do not allow is an
// ErrInvalidTag error.
//
// # Unmarshaling
//
// Unmarshal is the inverse of Marshal, and checks as it goes: the term's kind must
// suit the Go type, numbers must fit, a record must have the right tag and
// arity, an array the right length. Unmarshal into an interface that the
// term satisfies (any, Term) stores the term itself. A few conversions are
// allowed for convenience: a string accepts a binary, an atom or a list
// of code points; a float accepts an integer; a pointer accepts undefined
// as nil. A map struct takes the fields whose keys are present and leaves
// the others alone; other keys are ignored. Every failure is an
// *UnmarshalError naming the Go type, the place ($.Sessions[3].Loc) and
// the term's kind.
//
// # Caching
//
// The function uses a fresh Marshaler each call: there is no hidden
// package-level cache, so nothing is shared between callers and nothing
// grows without bound; the cost is reading each struct type's tags once per
// call, which is small next to the conversion itself. Keep a Marshaler to
// avoid even that.
func Marshal(v any) (Term, error) {
	var m Marshaler
	return m.Marshal(v)
}

// Unmarshal stores t in the value v points to, which must be a non-nil
// pointer, by the rules given at Marshal. Like Marshal, it uses a fresh
// Marshaler each call.
func Unmarshal(t Term, v any) error {
	var m Marshaler
	return m.Unmarshal(t, v)
}

// Marshal converts v to a term.
func (m *Marshaler) Marshal(v any) (Term, error) {
	t, err := m.encode(reflect.ValueOf(v), false, 0)
	if err != nil {
		return nil, prependPath(err, "$")
	}
	return t, nil
}

// Unmarshal stores t in the value v points to.
func (m *Marshaler) Unmarshal(t Term, v any) error {
	rv := reflect.ValueOf(v)
	if t == nil || rv.Kind() != reflect.Pointer || rv.IsNil() {
		e := &UnmarshalError{Path: "$", Type: reflect.TypeOf(v), Err: ErrInvalidTarget}
		if t != nil {
			e.Kind = t.Kind()
		}
		return e
	}
	if err := m.decode(t, rv.Elem(), 0); err != nil {
		return prependPath(err, "$")
	}
	return nil
}

// prependPath adds a path step in front of the path of a marshaling error
// as the error travels up from where it happened.
func prependPath(err error, step string) error {
	switch e := err.(type) {
	case *MarshalError:
		e.Path = step + e.Path
	case *UnmarshalError:
		e.Path = step + e.Path
	}
	return err
}

var (
	termType        = reflect.TypeFor[Term]()
	marshalerType   = reflect.TypeFor[TermMarshaler]()
	unmarshalerType = reflect.TypeFor[TermUnmarshaler]()
	bigIntType      = reflect.TypeFor[big.Int]()
	bigIntPtrType   = reflect.TypeFor[*big.Int]()
)

// structResult is what a Marshaler remembers about a struct type.
type structResult struct {
	info *structInfo
	err  error
}

type structInfo struct {
	asMap  bool
	record Atom
	fields []fieldInfo
}

type fieldInfo struct {
	index     int
	name      string // the Go field name, for paths
	key       Atom   // the map key
	omitEmpty bool
	asAtom    bool
}

func (m *Marshaler) structInfo(t reflect.Type) (*structInfo, error) {
	if r, ok := m.structs.Load(t); ok {
		res := r.(*structResult)
		return res.info, res.err
	}
	info, err := readStructInfo(t)
	r, _ := m.structs.LoadOrStore(t, &structResult{info, err})
	res := r.(*structResult)
	return res.info, res.err
}

func readStructInfo(t reflect.Type) (*structInfo, error) {
	info := &structInfo{}
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i] // a generic type's arguments are not part of its name
	}
	if name == "" {
		info.asMap = true
	} else {
		info.record = Atom(snakeCase(name))
	}
	bad := func(f reflect.StructField, why string) error {
		return &MarshalError{Type: t, Err: ErrInvalidTag, Detail: fmt.Sprintf("field %s: %s", f.Name, why)}
	}
	var fields []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, tagged := f.Tag.Lookup("term")
		if f.Name == "_" {
			if !tagged {
				continue
			}
			recName, opts, _ := strings.Cut(tag, ",")
			info.asMap = false
			for _, o := range strings.Split(opts, ",") {
				switch o {
				case "":
				case "map":
					info.asMap = true
				case "record":
				default:
					return nil, bad(f, fmt.Sprintf("unknown struct option %q", o))
				}
			}
			if recName != "" {
				if info.asMap {
					return nil, bad(f, "a map struct has no record name")
				}
				if utf8.RuneCountInString(recName) > maxAtomLen {
					return nil, bad(f, "record name longer than 255 characters")
				}
				info.record = Atom(recName)
			}
			if !info.asMap && info.record == "" {
				return nil, bad(f, "a record needs a name")
			}
			continue
		}
		if f.IsExported() {
			fields = append(fields, f)
		}
	}
	for _, f := range fields {
		tag := f.Tag.Get("term")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fi := fieldInfo{index: f.Index[0], name: f.Name, key: Atom(name)}
		if name == "" {
			fi.key = Atom(snakeCase(f.Name))
		}
		if utf8.RuneCountInString(string(fi.key)) > maxAtomLen {
			return nil, bad(f, "name longer than 255 characters")
		}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "":
			case "omitempty":
				if !info.asMap {
					return nil, bad(f, "omitempty applies to map structs only")
				}
				fi.omitEmpty = true
			case "atom":
				if f.Type.Kind() != reflect.String {
					return nil, bad(f, "atom applies to string fields only")
				}
				fi.asAtom = true
			default:
				return nil, bad(f, fmt.Sprintf("unknown field option %q", o))
			}
		}
		info.fields = append(info.fields, fi)
	}
	if info.asMap {
		seen := map[Atom]string{}
		for _, fi := range info.fields {
			if other, dup := seen[fi.key]; dup {
				return nil, &MarshalError{Type: t, Err: ErrInvalidTag,
					Detail: fmt.Sprintf("fields %s and %s both have the key %s", other, fi.name, Format(fi.key))}
			}
			seen[fi.key] = fi.name
		}
	}
	return info, nil
}

// snakeCase turns a Go name into an Erlang one: UserInfo gives user_info,
// HTTPServer http_server, UserID user_id.
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if !unicode.IsUpper(r) {
			b.WriteRune(r)
			continue
		}
		if i > 0 {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func (m *Marshaler) encode(v reflect.Value, asAtom bool, depth int) (Term, error) {
	if !v.IsValid() {
		return Undefined, nil
	}
	t := v.Type()
	if depth > MaxMarshalDepth {
		return nil, &MarshalError{Type: t, Err: ErrTooDeep, Detail: "a pointer cycle?"}
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return Undefined, nil
		}
	}
	if t.Implements(termType) {
		x := v.Interface().(Term)
		if b, ok := x.(BigInt); ok && b.v == nil {
			return nil, &MarshalError{Type: t, Err: ErrUnsupportedType, Detail: "the zero BigInt is not a term; use Integer"}
		}
		return x, nil
	}
	if t.Implements(marshalerType) {
		return callMarshaler(v.Interface().(TermMarshaler), t)
	}
	if v.CanAddr() && reflect.PointerTo(t).Implements(marshalerType) {
		return callMarshaler(v.Addr().Interface().(TermMarshaler), t)
	}
	switch t.Kind() {
	case reflect.Bool:
		return Bool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Int(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if u > math.MaxInt64 {
			return Integer(new(big.Int).SetUint64(u)), nil
		}
		return Int(u), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, &MarshalError{Type: t, Err: ErrNotFinite}
		}
		return Float(f), nil
	case reflect.String:
		if asAtom {
			if utf8.RuneCountInString(v.String()) > maxAtomLen {
				return nil, &MarshalError{Type: t, Err: ErrAtomTooLong}
			}
			return Atom(v.String()), nil
		}
		return BinaryString(v.String()), nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !elemHasMethods(t.Elem()) {
			return NewBinary(v.Bytes()), nil
		}
		return m.encodeList(v, depth)
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && !elemHasMethods(t.Elem()) {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			return binaryOwning(b), nil
		}
		return m.encodeList(v, depth)
	case reflect.Map:
		return m.encodeMap(v, depth)
	case reflect.Struct:
		if t == bigIntType {
			b := v.Interface().(big.Int)
			return Integer(&b), nil
		}
		return m.encodeStruct(v, depth)
	case reflect.Pointer:
		if t == bigIntPtrType {
			return Integer(v.Interface().(*big.Int)), nil
		}
		return m.encode(v.Elem(), asAtom, depth+1)
	case reflect.Interface:
		return m.encode(v.Elem(), asAtom, depth+1)
	}
	return nil, &MarshalError{Type: t, Err: ErrUnsupportedType}
}

// elemHasMethods reports whether a byte-like element type converts itself,
// in which case a slice of it is a list rather than a binary.
func elemHasMethods(t reflect.Type) bool {
	return t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) ||
		t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
}

func callMarshaler(mt TermMarshaler, t reflect.Type) (Term, error) {
	x, err := mt.MarshalTerm()
	if err != nil {
		return nil, &MarshalError{Type: t, Err: err}
	}
	if x == nil {
		return nil, &MarshalError{Type: t, Err: ErrUnsupportedType, Detail: "MarshalTerm returned a nil term"}
	}
	return x, nil
}

func (m *Marshaler) encodeList(v reflect.Value, depth int) (Term, error) {
	elems := make([]Term, v.Len())
	for i := range elems {
		e, err := m.encode(v.Index(i), false, depth+1)
		if err != nil {
			return nil, prependPath(err, "["+strconv.Itoa(i)+"]")
		}
		elems[i] = e
	}
	return listOwning(elems, nil), nil
}

func (m *Marshaler) encodeMap(v reflect.Value, depth int) (Term, error) {
	pairs := make([]Pair, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k, err := m.encode(it.Key(), false, depth+1)
		if err != nil {
			return nil, prependPath(err, "[key "+fmt.Sprint(it.Key())+"]")
		}
		val, err := m.encode(it.Value(), false, depth+1)
		if err != nil {
			return nil, prependPath(err, "["+Format(k)+"]")
		}
		pairs = append(pairs, Pair{k, val})
	}
	before := len(pairs)
	mp := mapOfPairs(pairs)
	if mp.Len() != before {
		return nil, &MarshalError{Type: v.Type(), Err: ErrDuplicateKey}
	}
	return mp, nil
}

func (m *Marshaler) encodeStruct(v reflect.Value, depth int) (Term, error) {
	info, err := m.structInfo(v.Type())
	if err != nil {
		return nil, copyError(err)
	}
	if info.asMap {
		pairs := make([]Pair, 0, len(info.fields))
		for _, f := range info.fields {
			fv := v.Field(f.index)
			if f.omitEmpty && fv.IsZero() {
				continue
			}
			x, err := m.encode(fv, f.asAtom, depth+1)
			if err != nil {
				return nil, prependPath(err, "."+f.name)
			}
			pairs = append(pairs, Pair{f.key, x})
		}
		return mapOfPairs(pairs), nil
	}
	elems := make([]Term, 1, 1+len(info.fields))
	elems[0] = info.record
	for _, f := range info.fields {
		x, err := m.encode(v.Field(f.index), f.asAtom, depth+1)
		if err != nil {
			return nil, prependPath(err, "."+f.name)
		}
		elems = append(elems, x)
	}
	return tupleOwning(elems), nil
}

// copyError returns a fresh copy of a remembered tag error, so that adding
// a path to it does not change the remembered one.
func copyError(err error) error {
	if e, ok := err.(*MarshalError); ok {
		c := *e
		return &c
	}
	return err
}

func (m *Marshaler) decode(x Term, v reflect.Value, depth int) error {
	t := v.Type()
	if x == nil {
		return &UnmarshalError{Type: t, Err: ErrMismatch, Detail: "a nil Term"}
	}
	fail := func(cause error, detail string) error {
		return &UnmarshalError{Type: t, Kind: x.Kind(), Err: cause, Detail: detail}
	}
	if depth > MaxMarshalDepth {
		return fail(ErrTooDeep, "")
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := v.Addr().Interface().(TermUnmarshaler).UnmarshalTerm(x); err != nil {
			return fail(err, "")
		}
		return nil
	}
	if t.Kind() == reflect.Pointer && x == Undefined {
		v.SetZero()
		return nil
	}
	if xt := reflect.TypeOf(x); xt.AssignableTo(t) {
		v.Set(reflect.ValueOf(x))
		return nil
	}
	mismatch := func() error { return fail(ErrMismatch, "") }
	if t.Implements(termType) || reflect.PointerTo(t).Implements(termType) {
		return mismatch() // a term type, but not the term's
	}
	switch t.Kind() {
	case reflect.Bool:
		switch x {
		case True:
			v.SetBool(true)
		case False:
			v.SetBool(false)
		default:
			return mismatch()
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		switch n := x.(type) {
		case Int:
			if v.OverflowInt(int64(n)) {
				return fail(ErrOverflow, Format(n))
			}
			v.SetInt(int64(n))
			return nil
		case BigInt:
			return fail(ErrOverflow, Format(n))
		}
		return mismatch()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var u uint64
		switch n := x.(type) {
		case Int:
			if n < 0 {
				return fail(ErrOverflow, Format(n))
			}
			u = uint64(n)
		case BigInt:
			if !n.v.IsUint64() {
				return fail(ErrOverflow, Format(n))
			}
			u = n.v.Uint64()
		default:
			return mismatch()
		}
		if v.OverflowUint(u) {
			return fail(ErrOverflow, Format(x))
		}
		v.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		switch n := x.(type) {
		case Float:
			f = float64(n)
		case Int:
			f = float64(n)
		case BigInt:
			f, _ = new(big.Float).SetInt(n.v).Float64()
		default:
			return mismatch()
		}
		if math.IsInf(f, 0) || v.OverflowFloat(f) {
			return fail(ErrOverflow, Format(x))
		}
		v.SetFloat(f)
		return nil
	case reflect.String:
		s, ok := termString(x)
		if !ok {
			return mismatch()
		}
		v.SetString(s)
		return nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !elemHasMethods(t.Elem()) {
			b, ok := x.(*Binary)
			if !ok || !b.IsBinary() {
				return mismatch()
			}
			bs := b.Bytes()
			if bs == nil {
				bs = []byte{}
			}
			v.SetBytes(bs)
			return nil
		}
		l, ok := x.(*List)
		if !ok || !l.IsProper() {
			return mismatch()
		}
		s := reflect.MakeSlice(t, l.Len(), l.Len())
		for i, e := range l.All() {
			if err := m.decode(e, s.Index(i), depth+1); err != nil {
				return prependPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		v.Set(s)
		return nil
	case reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && !elemHasMethods(t.Elem()) {
			b, ok := x.(*Binary)
			if !ok || !b.IsBinary() {
				return mismatch()
			}
			if b.Len() != t.Len() {
				return fail(ErrArity, fmt.Sprintf("%d bytes, want %d", b.Len(), t.Len()))
			}
			for i := range b.Len() {
				v.Index(i).SetUint(uint64(b.At(i)))
			}
			return nil
		}
		l, ok := x.(*List)
		if !ok || !l.IsProper() {
			return mismatch()
		}
		if l.Len() != t.Len() {
			return fail(ErrArity, fmt.Sprintf("%d elements, want %d", l.Len(), t.Len()))
		}
		for i, e := range l.All() {
			if err := m.decode(e, v.Index(i), depth+1); err != nil {
				return prependPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return nil
	case reflect.Map:
		mp, ok := x.(*Map)
		if !ok {
			return mismatch()
		}
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(t, mp.Len()))
		}
		for k, e := range mp.All() {
			kv := reflect.New(t.Key()).Elem()
			if err := m.decode(k, kv, depth+1); err != nil {
				return prependPath(err, "[key "+Format(k)+"]")
			}
			ev := reflect.New(t.Elem()).Elem()
			if err := m.decode(e, ev, depth+1); err != nil {
				return prependPath(err, "["+Format(k)+"]")
			}
			v.SetMapIndex(kv, ev)
		}
		return nil
	case reflect.Struct:
		if t == bigIntType {
			switch n := x.(type) {
			case Int:
				v.Addr().Interface().(*big.Int).SetInt64(int64(n))
			case BigInt:
				v.Addr().Interface().(*big.Int).Set(n.v)
			default:
				return mismatch()
			}
			return nil
		}
		return m.decodeStruct(x, v, depth, fail)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return m.decode(x, v.Elem(), depth+1)
	case reflect.Interface:
		return mismatch() // an interface the term's type does not satisfy
	}
	return fail(ErrUnsupportedType, "")
}

// termString reads a string from a binary, an atom or a list of code
// points.
func termString(x Term) (string, bool) {
	switch s := x.(type) {
	case *Binary:
		if !s.IsBinary() {
			return "", false
		}
		return string(s.flat()), true
	case Atom:
		return string(s), true
	case *List:
		if !s.IsProper() {
			return "", false
		}
		b := make([]byte, 0, s.Len())
		for _, e := range s.All() {
			c, ok := e.(Int)
			if !ok || c < 0 || c > utf8.MaxRune || (c >= 0xD800 && c <= 0xDFFF) {
				return "", false
			}
			b = utf8.AppendRune(b, rune(c))
		}
		return string(b), true
	}
	return "", false
}

func (m *Marshaler) decodeStruct(x Term, v reflect.Value, depth int, fail func(error, string) error) error {
	info, err := m.structInfo(v.Type())
	if err != nil {
		e := copyError(err)
		if me, ok := e.(*MarshalError); ok {
			return fail(ErrInvalidTag, me.Detail)
		}
		return e
	}
	if info.asMap {
		mp, ok := x.(*Map)
		if !ok {
			return fail(ErrMismatch, "want a map")
		}
		for _, f := range info.fields {
			e, ok := mp.Get(f.key)
			if !ok {
				continue
			}
			if err := m.decodeField(e, v.Field(f.index), f, depth); err != nil {
				return err
			}
		}
		return nil
	}
	tup, ok := x.(*Tuple)
	if !ok {
		return fail(ErrMismatch, fmt.Sprintf("want a %s record", Format(info.record)))
	}
	if tup.Len() != 1+len(info.fields) {
		return fail(ErrArity, fmt.Sprintf("tuple of %d elements, want %d for a %s record",
			tup.Len(), 1+len(info.fields), Format(info.record)))
	}
	if !Equal(tup.At(0), info.record) {
		return fail(ErrRecordTag, fmt.Sprintf("tag %s, want %s", Format(tup.At(0)), Format(info.record)))
	}
	for i, f := range info.fields {
		if err := m.decodeField(tup.At(i+1), v.Field(f.index), f, depth); err != nil {
			return err
		}
	}
	return nil
}

func (m *Marshaler) decodeField(x Term, v reflect.Value, f fieldInfo, depth int) error {
	if f.asAtom {
		if _, ok := x.(Atom); !ok {
			return prependPath(&UnmarshalError{Type: v.Type(), Kind: x.Kind(), Err: ErrMismatch, Detail: "want an atom"}, "."+f.name)
		}
	}
	if err := m.decode(x, v, depth+1); err != nil {
		return prependPath(err, "."+f.name)
	}
	return nil
}
