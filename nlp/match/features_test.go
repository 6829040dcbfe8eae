package match

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var testCorpus = []string{
	"花呗怎么还款", "借呗怎么还款", "花呗可以提前还款吗", "我的花呗为什么不能用",
	"借呗额度怎么提升", "怎么开通花呗", "花呗逾期了怎么办", "how do i reset my pin",
	"what is my card limit", "借款5000元要多少利息", "借款3000元要多少利息",
}

func TestFeatureNames(t *testing.T) {
	if got := len(FeatureNames()); got != NumFeatures {
		t.Fatalf("len(FeatureNames()) = %d, want %d", got, NumFeatures)
	}
}

func TestSimilarity(t *testing.T) {
	x := FitIDF(testCorpus)
	approx := cmpopts.EquateApprox(0, 1e-9)
	tests := []struct {
		name string
		a, b string
		want map[int]float64 // selected features
	}{
		{"identical", "花呗怎么还款", "花呗怎么还款", map[int]float64{
			FeatCosUnigram: 1, FeatCosBigram: 1, FeatJaccardUni: 1, FeatBM25Min: 1,
			FeatLenRatio: 1, FeatEditSim: 1, FeatSubstrMax: 1, FeatExact: 1,
			FeatMaxUnsharedIDF: 0, FeatNegationDiffer: 0, FeatNumbersDiffer: 0,
		}},
		{"one char differs", "花呗怎么还款", "借呗怎么还款", map[int]float64{
			FeatJaccardUni: 5.0 / 7, FeatJaccardBi: 4.0 / 6, FeatLenRatio: 1,
			FeatEditSim: 5.0 / 6, FeatSubstrMin: 5.0 / 6, FeatSubseqMax: 5.0 / 6, FeatExact: 0,
		}},
		{"disjoint", "花呗", "what is my card limit", map[int]float64{
			FeatCosUnigram: 0, FeatJaccardUni: 0, FeatBM25Max: 0, FeatLenRatio: 2.0 / 5,
			FeatLenDiff: math.Log1p(3), FeatEditSim: 0, FeatSubstrMax: 0,
		}},
		{"numbers differ", "借款5000元要多少利息", "借款3000元要多少利息", map[int]float64{
			FeatNumbersAgree: 0, FeatNumbersDiffer: 1, FeatNegationDiffer: 0,
		}},
		{"numbers agree", "借款5000元", "5000元借款", map[int]float64{
			FeatNumbersAgree: 1, FeatNumbersDiffer: 0, FeatJaccardUni: 1,
		}},
		{"negation", "花呗能用", "花呗不能用", map[int]float64{
			FeatNegationDiffer: 1, FeatSubstrMin: 2.0 / 4,
		}},
		{"question word", "花呗怎么还款", "花呗为什么还款", map[int]float64{FeatQuestionDiffer: 1}},
		{"empty", "", "", map[int]float64{FeatCosUnigram: 0, FeatLenRatio: 0, FeatExact: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := x.Similarity(tc.a, tc.b)
			got := make(map[int]float64, len(tc.want))
			for k := range tc.want {
				got[k] = f[k]
			}
			if diff := cmp.Diff(tc.want, got, approx); diff != "" {
				t.Errorf("Similarity(%q, %q) (-want +got):\n%s", tc.a, tc.b, diff)
			}
		})
	}
}

func TestSimilaritySymmetricAndBounded(t *testing.T) {
	x := FitIDF(testCorpus)
	for _, a := range testCorpus {
		for _, b := range testCorpus {
			ab, ba := x.Similarity(a, b), x.Similarity(b, a)
			if diff := cmp.Diff(ab, ba, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Fatalf("Similarity(%q, %q) not symmetric:\n%s", a, b, diff)
			}
			for i, v := range ab {
				if i != FeatLenDiff && (v < 0 || v > 1+1e-12 || math.IsNaN(v)) {
					t.Fatalf("feature %s of (%q, %q) = %v, want in [0, 1]", FeatureNames()[i], a, b, v)
				}
			}
		}
	}
}

func TestSimilarityOrdersPairs(t *testing.T) {
	x := FitIDF(testCorpus)
	near := x.Similarity("花呗怎么还款", "花呗如何还款")
	far := x.Similarity("花呗怎么还款", "借呗额度怎么提升")
	for _, i := range []int{FeatCosUnigram, FeatCosBigram, FeatBM25Min, FeatEditSim, FeatIDFOverlap} {
		if near[i] <= far[i] {
			t.Errorf("%s: near pair %v <= far pair %v", FeatureNames()[i], near[i], far[i])
		}
	}
}
