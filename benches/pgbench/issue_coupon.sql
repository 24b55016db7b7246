-- The naive issueCoupon: one SERIALIZABLE transaction per request that
-- reads the campaign and the caller's holding, then inserts the coupon and
-- bumps the counter. Variables: :cid (campaign), :first_user, :last_user.
\set uid random(:first_user, :last_user)
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT total_quantity - issued_quantity AS remaining,
       (valid_from <= now() AND (valid_until IS NULL OR valid_until > now()))::INT AS open
  FROM coupons WHERE id = :cid \gset
SELECT count(*) AS held FROM user_coupons WHERE user_id = :uid AND coupon_id = :cid \gset
\if :remaining > 0 AND :held = 0 AND :open = 1
-- A repeat of the same user in a concurrent transaction can commit the
-- same coupon after this one's snapshot: a plain INSERT then fails with a
-- unique violation, which pgbench does not retry (it aborts the run). With
-- ON CONFLICT DO NOTHING, PostgreSQL reports a conflict with a row that
-- this snapshot cannot see as a serialization failure, which pgbench
-- retries; a row it could see, the SELECT above would have seen, so the
-- insert never does nothing here and the counter stays right.
INSERT INTO user_coupons (user_id, coupon_id) VALUES (:uid, :cid) ON CONFLICT DO NOTHING;
UPDATE coupons SET issued_quantity = issued_quantity + 1 WHERE id = :cid;
\endif
COMMIT;
