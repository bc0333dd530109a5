-- SNS messages already applied, so a redelivered message (SNS delivers at least once and
-- retries under the same MessageId) changes nothing. A row is written just before the
-- message's report is applied and deleted again if applying fails, so SNS's retry is applied.
-- Rows older than twice the accepted message age are deleted as new messages arrive.
CREATE TABLE sns_messages (
    message_id TEXT PRIMARY KEY,
    topic_arn TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX sns_messages_received ON sns_messages (received_at);
