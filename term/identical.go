package term

import "unsafe"

// Identical reports whether a and b are the same interface value word for
// word: the same dynamic type and the same data pointer. It is a cheaper
// test than Same or a == b (a type switch, or a runtime call that compares
// boxed scalars by value): it implies a == b and Same(a, b), and the
// update helpers copy untouched elements as they are, so it holds for
// everything two versions of a term share. A false result says nothing;
// Same or Equal decides then.
func Identical(a, b Term) bool {
	// Word by word: comparing the two arrays whole is a call to memequal.
	x, y := (*[2]unsafe.Pointer)(unsafe.Pointer(&a)), (*[2]unsafe.Pointer)(unsafe.Pointer(&b))
	return x[1] == y[1] && x[0] == y[0]
}

// identicalBlock is how many elements identicalRun compares at once, as
// bytes (a changed 64-element list leaf is mostly identical to its old
// copy, and one memory comparison of 128 bytes is far cheaper than eight
// element comparisons).
const identicalBlock = 8

// termBytes returns the memory of s's interface words (read-only).
func termBytes(s []Term) string {
	if len(s) == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(s[0])))
}

// identicalRun returns how many leading elements of a and b are identical.
func identicalRun(a, b []Term) int {
	n := min(len(a), len(b))
	if n == 0 || !Identical(a[0], b[0]) {
		return 0
	}
	k := 1
	for k+identicalBlock <= n && termBytes(a[k:k+identicalBlock]) == termBytes(b[k:k+identicalBlock]) {
		k += identicalBlock
	}
	for k < n && Identical(a[k], b[k]) {
		k++
	}
	return k
}

// identicalRunBack returns how many trailing elements of a and b are
// identical.
func identicalRunBack(a, b []Term) int {
	la, lb := len(a), len(b)
	n := min(la, lb)
	if n == 0 || !Identical(a[la-1], b[lb-1]) {
		return 0
	}
	k := 1
	for k+identicalBlock <= n && termBytes(a[la-k-identicalBlock:la-k]) == termBytes(b[lb-k-identicalBlock:lb-k]) {
		k += identicalBlock
	}
	for k < n && Identical(a[la-1-k], b[lb-1-k]) {
		k++
	}
	return k
}
