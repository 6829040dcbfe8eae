package par

import (
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMapKeepsOrder(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		in := make([]int, n)
		want := make([]string, n)
		for i := range in {
			in[i], want[i] = i, strconv.Itoa(i*i)
		}
		got := Map(in, 1, func(x int) string { return strconv.Itoa(x * x) })
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("n=%d (-want +got):\n%s", n, diff)
		}
	}
}
