package gateway

import "strconv"

// restMessageKey is the channel message id of a REST message. The client's message_id
// is unique per customer only, so the key holds the customer's id too, length-prefixed:
// a subject may contain ':', and "a:b" + "c" must not meet "a" + "b:c".
func restMessageKey(customerRef, messageID string) string {
	return strconv.Itoa(len(customerRef)) + ":" + customerRef + ":" + messageID
}
