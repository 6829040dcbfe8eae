package pii

import "testing"

// TestContextTypes redacts personal URLs, dates of birth and driving licence numbers
// where the text says what they are, and leaves the look-alikes a support conversation
// is full of.
func TestContextTypes(t *testing.T) {
	redactsTo(t, NewRedactor(), []redaction{
		{"reset link https://shop.example.com/reset?token=9f8a7b6c5d4e3f2a1b0c&user=anna@example.com.", "reset link [URL_1]."},
		{"magic https://app.example.com/login/a8f9c2e1b7d64f3a9e0c1b2d3 works", "magic [URL_1] works"},
		{"https://example.com/x#access_token=abcd1234", "[URL_1]"},
		{"see https://shop.example.com/products/4711-blue?color=red", "see https://shop.example.com/products/4711-blue?color=red"},
		{"docs at www.example.com/help/refunds", "docs at www.example.com/help/refunds"},
		{"born on 12/03/1985, date of birth: 1985-03-12", "born on [DOB_1], date of birth: [DOB_2]"},
		{"DOB March 12, 1985 please update", "DOB [DOB_1] please update"},
		{"birth date: 3 May 1990", "birth date: [DOB_1]"},
		{"the 6th birthday party (on February 7, 2022)", "the 6th birthday party (on February 7, 2022)"},
		{"出生日期：1985年3月12日", "出生日期：[DOB_1]"},
		{"delivered on 12/03/2024, ordered 2024-03-01", "delivered on 12/03/2024, ordered 2024-03-01"},
		{"my driver's license number is D1234567", "my driver's license number is [DRIVER_LICENSE_1]"},
		{"驾驶证号 A12345678", "驾驶证号 [DRIVER_LICENSE_1]"},
		{"license plate ABC", "license plate ABC"},
		{"software licence key ABCD-EFGH", "software licence key ABCD-EFGH"},
		{"mail anna.b+x@example.com", "mail [EMAIL_1]"},
	})
}

// TestLabelBeforeACopula: a business label followed by "is" still labels the number.
func TestLabelBeforeACopula(t *testing.T) {
	redactsTo(t, NewRedactor(), []redaction{
		{"my order number is 0244030366", "my order number is 0244030366"},
		{"the tracking number was 1380013800", "the tracking number was 1380013800"},
		{"my number is 13812345678", "my number is [PHONE_1]"},
	})
}
