-- A refund reason is a note for people: line breaks, and no other control
-- character (an escape sequence that repaints the terminal of whoever reads
-- the orders, or NUL). The API refuses them (`domain::order::validate_reason`);
-- this keeps a direct write from storing one. NOT VALID: rows written before
-- are not checked, every new or changed one is.
ALTER TABLE orders ADD CONSTRAINT orders_refund_reason_is_text
    CHECK (refund_reason !~ E'[\\x01-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]') NOT VALID;
