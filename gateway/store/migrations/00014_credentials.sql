-- +goose Up
-- Token Status Lists of the verifiable credentials Obert issues: the next
-- index of each list, and the revoked ones (an index absent here and below
-- next is valid).
CREATE TABLE credential_status_next (
    list TEXT   PRIMARY KEY,
    next BIGINT NOT NULL
);
CREATE TABLE credential_status_revoked (
    list TEXT   NOT NULL,
    idx  BIGINT NOT NULL,
    PRIMARY KEY (list, idx)
);
-- The SD-JWT VC issued with each document (sealed: its disclosures are the
-- citizen's data), and where its status lives.
CREATE TABLE document_credentials (
    csv         TEXT   PRIMARY KEY,
    subject     TEXT   NOT NULL,
    status_list TEXT   NOT NULL,
    status_idx  BIGINT NOT NULL,
    sealed      BYTEA  NOT NULL
);

-- +goose Down
DROP TABLE document_credentials;
DROP TABLE credential_status_revoked;
DROP TABLE credential_status_next;
