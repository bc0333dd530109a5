-- Message ids of signed webhooks already accepted (Standard Webhooks' `webhook-id`, the same
-- on every retry of one message): a second delivery of an id is a replay and changes nothing.
-- Rows older than an hour are deleted; by then the signature's timestamp is long out of
-- tolerance, so the message could not be accepted again anyway.
CREATE TABLE webhook_deliveries (
    provider TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, delivery_id)
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);
