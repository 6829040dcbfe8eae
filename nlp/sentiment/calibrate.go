package sentiment

import (
	"math"

	"github.com/switchboard-cs/switchboard/nlp/intent"
)

// scorer is one language's classifier with the temperature that calibrates it.
type scorer struct {
	c *intent.Classifier
	// temp divides the classifier's log-odds of negativity: nlp/intent trains with a
	// margin, which makes its probabilities overconfident (most are within 10⁻⁶ of 0 or
	// 1), so the temperature fitted on a calibration slice (temperature scaling, Guo et
	// al. 2017) turns them back into probabilities a trend can average.
	temp float64
}

// maxLogOdds bounds the log-odds read back from a probability that rounded to 0 or 1.
const maxLogOdds = 30

// logOdds is the classifier's log(P(negative)/P(positive)) of text.
func (s *scorer) logOdds(text string) float64 {
	pred := s.c.Predict(text)
	p := pred.Confidence
	if pred.Label != labelNegative {
		p = 1 - p
	}
	switch {
	case p <= 0:
		return -maxLogOdds
	case p >= 1:
		return maxLogOdds
	}
	return max(-maxLogOdds, min(maxLogOdds, math.Log(p/(1-p))))
}

// negativity is the calibrated P(negative) of text.
func (s *scorer) negativity(text string) float64 {
	return sigmoid(s.logOdds(text) / s.temp)
}

// sigmoid is the logistic function.
func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Temperature search bounds (log scale) and steps of the golden-section search.
const (
	minTemp   = 0.05
	maxTemp   = 100
	tempSteps = 60
)

// fitTemperature returns the T in [minTemp, maxTemp] minimising the mean log-loss of
// sigmoid(z/T) against the labels: golden-section search over log T (the loss is
// unimodal in T for fixed log-odds z). Without examples it returns 1.
func fitTemperature(z []float64, negative []bool) float64 {
	if len(z) == 0 {
		return 1
	}
	loss := func(logT float64) float64 {
		t := math.Exp(logT)
		var sum float64
		for i, v := range z {
			sum += logLoss(sigmoid(v/t), negative[i])
		}
		return sum / float64(len(z))
	}
	lo, hi := math.Log(minTemp), math.Log(maxTemp)
	g := (math.Sqrt(5) - 1) / 2
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	fa, fb := loss(a), loss(b)
	for range tempSteps {
		if fa < fb {
			hi, b, fb = b, a, fa
			a = hi - g*(hi-lo)
			fa = loss(a)
		} else {
			lo, a, fa = a, b, fb
			b = lo + g*(hi-lo)
			fb = loss(b)
		}
	}
	return math.Exp((lo + hi) / 2)
}

// minProb keeps log-loss finite for a probability of exactly 0 or 1.
const minProb = 1e-12

// logLoss is the cross-entropy of predicting P(negative) = p for an example.
func logLoss(p float64, negative bool) float64 {
	if !negative {
		p = 1 - p
	}
	return -math.Log(max(p, minProb))
}
