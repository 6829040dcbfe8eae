// Package fieldcrypt protects data at rest once a turn is persisted: the ticket store and
// the PII token vault encrypt sensitive fields with it before writing to PostgreSQL, and
// look them up by exact value through blind indexes (docs/architecture.md, "Privacy and security").
//
// A [KeyRing] holds AES-256-GCM data keys by id, exactly one of them active for new
// ciphertexts, plus an HMAC-SHA256 key for blind indexes. Ciphertexts name the key that
// made them, so rotation adds a key without re-encrypting old rows. Additional
// authenticated data (for example "tickets.customer_email:<ticket id>") binds a
// ciphertext to its row and column, so it cannot be copied into another. Keys for other
// purposes (the audit chain's HMAC) are derived from a data key and follow its id. The
// ring is persisted as a JSON file readable by its owner only, sealed with a
// key-encryption key when one is given (Options.KEK), and re-read when another process
// rotates it (Reload).
package fieldcrypt
