-- An archived product stays archived, as `archiveProduct` promises ("out of
-- the catalog for good"): the API has no way back, and this keeps a direct
-- write from bringing one back, or from moving its archiving time (which
-- says when it stopped being orderable). Fires only on a write that names
-- archived_at, so stock updates (payments, refunds) never run it.
CREATE FUNCTION products_archive_is_final() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.archived_at IS NOT NULL AND NEW.archived_at IS DISTINCT FROM OLD.archived_at THEN
        RAISE EXCEPTION 'product % was archived at %, for good', OLD.id, OLD.archived_at
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER products_archive_is_final
    BEFORE UPDATE OF archived_at ON products
    FOR EACH ROW EXECUTE FUNCTION products_archive_is_final();
