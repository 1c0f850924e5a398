CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text, note text);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), amount numeric(10,2));
INSERT INTO customers (name, email, note) VALUES
  ('Alice Example', 'alice@example.org', 'prefers "quoted" text, and commas'),
  ('Bob Example', 'bob@example.org', NULL);
INSERT INTO orders (customer_id, amount) VALUES (1, 10.50), (2, 99.00);
GRANT SELECT ON customers TO analyst;
GRANT SELECT ON customers TO auditor;
GRANT SELECT (amount) ON orders TO auditor;
select * from customers;
SELECT c.name,
       o.amount
  FROM customers c
  JOIN orders o ON o.customer_id = c.id
 WHERE o.amount > 5;
UPDATE customers SET note = 'line one
line two' WHERE id = 2;
DELETE FROM orders WHERE amount > 50;
PREPARE q(int) AS SELECT email FROM customers WHERE id = $1;
EXECUTE q(1);
COPY (SELECT name, email FROM customers) TO STDOUT WITH (FORMAT csv);
CREATE FUNCTION mask_email(t text) RETURNS text LANGUAGE sql AS $$ SELECT regexp_replace(t, '^[^@]+', '***') $$;
SELECT mask_email(email) FROM customers;
SELECT * FROM no_such_table;
