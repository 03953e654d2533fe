"""The API's tables as the store owns them: users and tokens, decisions and kill switches, read cursors."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from pulsetwin.store import Store
from pulsetwin.store.accounts import (
    StoredToken,
    StoredUser,
    count_users,
    delete_token,
    find_user,
    insert_token,
    insert_user,
    read_users,
    replace_user,
    token_owner,
)
from pulsetwin.store.decisions import (
    Decision,
    KillSwitch,
    delete_kill_switch,
    insert_decision,
    insert_kill_switch,
    is_withdrawn,
    next_decision_id,
    read_decisions,
    read_kill_switches,
)

T0 = datetime(2026, 3, 1, 12, 0)


def _user(name: str, role: str = "viewer", salt: str = "s") -> StoredUser:
    return StoredUser(name, role, "scrypt", salt, f"hash-of-{name}", T0)


def test_users_and_tokens_round_trip_and_a_replaced_user_loses_its_tokens(store: Store) -> None:
    with store.transaction():
        insert_user(store, _user("zoe"))
        insert_user(store, _user("ann", "admin"))
    assert [u.username for u in read_users(store)] == ["ann", "zoe"] and count_users(store) == 2
    assert find_user(store, "ann") == _user("ann", "admin") and find_user(store, "bob") is None
    with pytest.raises(duckdb.ConstraintException), store.transaction():
        insert_user(store, _user("zoe"))
    with store.transaction():
        insert_token(store, StoredToken("old", "zoe", T0, T0 + timedelta(minutes=5)))
        insert_token(store, StoredToken("new", "zoe", T0 + timedelta(hours=1), T0 + timedelta(hours=2)))
    assert token_owner(store, "old", T0) is None  # dropped: expired when "new" was issued
    assert token_owner(store, "new", T0 + timedelta(hours=2)) is None  # expired by then
    assert token_owner(store, "new", T0 + timedelta(hours=1)) == (_user("zoe"), T0 + timedelta(hours=2))
    with store.transaction():
        replace_user(store, _user("zoe", "analyst", salt="t"))
    assert find_user(store, "zoe") == _user("zoe", "analyst", salt="t")
    assert token_owner(store, "new", T0) is None and count_users(store) == 2
    with store.transaction():
        insert_token(store, StoredToken("x", "ann", T0, T0 + timedelta(hours=1)))
        delete_token(store, "x")
    assert token_owner(store, "x", T0) is None


def test_decisions_page_newest_first_and_kill_switches_withdraw_and_lift(store: Store) -> None:
    assert next_decision_id(store) == 1
    with store.transaction():
        for i, (run, area) in enumerate([("r1", "A"), ("r1", "B"), ("r2", "A")], start=1):
            insert_decision(store, Decision(i, T0, "ann", run, area, "accept", f"reason {i}", 10 + i))
    assert next_decision_id(store) == 4
    page, total = read_decisions(store, run_id="r1", area_code=None, limit=1, offset=0)
    assert total == 2 and page == [Decision(2, T0, "ann", "r1", "B", "accept", "reason 2", 12)]
    page, total = read_decisions(store, run_id=None, area_code="A", limit=10, offset=0)
    assert total == 2 and [d.decision_id for d in page] == [3, 1]
    switch = KillSwitch("r1", T0, "ann", "bad data", 20)
    with store.transaction():
        insert_kill_switch(store, switch)
    assert is_withdrawn(store, "r1") and not is_withdrawn(store, "r2")
    assert read_kill_switches(store) == [switch]
    with store.transaction():
        delete_kill_switch(store, "r1")
    assert read_kill_switches(store) == [] and not is_withdrawn(store, "r1")


def test_a_read_cursor_sees_committed_rows_only(store: Store) -> None:
    cursor = store.read_cursor()
    try:
        with store.transaction():
            insert_user(store, _user("zoe"))
            assert find_user(store, "zoe") is not None and find_user(cursor, "zoe") is None
        assert find_user(cursor, "zoe") == _user("zoe")
    finally:
        cursor.close()
