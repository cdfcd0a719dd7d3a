CREATE TABLE greetings (
    id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    word text NOT NULL
);
