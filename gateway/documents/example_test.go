package documents_test

import (
	"fmt"

	"github.com/obert-gov/obert/gateway/documents"
)

func ExampleWellFormed() {
	code := documents.NewCSV()
	fmt.Println(len(code), documents.WellFormed(code))
	fmt.Println(documents.WellFormed(documents.Normalize("abcd-efgh-ijkl-mnop-qrst")))
	fmt.Println(documents.WellFormed("ABCDEFGHIJKLMNOPQRS1"))
	// Output:
	// 20 true
	// true
	// false
}

func ExampleMaskDocument() {
	fmt.Println(documents.MaskDocument("12345678Z"))
	// Output: ***4567**
}
