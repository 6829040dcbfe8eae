// Package lang is the first step of the understand stage in the message flow: after the
// redact stage has removed personal data, [Detect] tells the pipeline whether a customer
// message is Chinese or English, so that replies, retrieval and routing (skills by
// language) can follow the customer's language.
//
// Detection is by script: the share of Han characters against Latin letters. It needs no
// model, runs in one pass over the text, and treats digits, punctuation and emoji as
// neutral.
package lang
