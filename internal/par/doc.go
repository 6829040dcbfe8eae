// Package par is plumbing for the CPU-bound parts of the flow (training and
// scoring the nlp classifiers): an order-keeping parallel map.
package par
