"""The revision store: every deploy recorded, one active, crash counting for safe mode."""

from __future__ import annotations

from flowengine.storage import RevisionStore, document_rev

DOC_A = [{"id": "t", "type": "tab"}]
DOC_B = [{"id": "t", "type": "tab", "label": "B"}]


def test_rev_is_a_stable_content_hash():
    assert document_rev(DOC_A) == document_rev([{"type": "tab", "id": "t"}])
    assert document_rev(DOC_A) != document_rev(DOC_B)
    assert len(document_rev(DOC_A)) == 32


async def test_add_activate_fail_and_reopen(tmp_path):
    store = RevisionStore(tmp_path / "fe.db")
    await store.open()
    a = await store.add(DOC_A, "cli", None)
    assert a.status == "pending" and await store.active() is None
    await store.activate(a)
    b = await store.add(DOC_B, "alice", a.rev)
    await store.fail(b, [{"node_id": "x", "message": "failed to start"}])
    c = await store.add(DOC_B, "alice", a.rev)
    await store.activate(c)
    await store.close()
    store = RevisionStore(tmp_path / "fe.db")
    await store.open()
    active = await store.active()
    assert active.id == c.id and active.doc == DOC_B and active.parent == a.rev
    statuses = [(r.id, r.status) for r in await store.list()]
    assert statuses == [(c.id, "active"), (b.id, "failed"), (a.id, "superseded")]
    assert (await store.get(b.id)).error == [{"node_id": "x", "message": "failed to start"}]
    assert (await store.get(a.rev)).doc == DOC_A
    await store.close()


async def test_a_deploy_interrupted_while_pending_is_failed_at_next_open(tmp_path):
    store = RevisionStore(tmp_path / "fe.db")
    await store.open()
    await store.add(DOC_A, "cli", None)  # the process dies here
    await store.close()
    store = RevisionStore(tmp_path / "fe.db")
    await store.open()
    [rev] = await store.list()
    assert rev.status == "failed" and "interrupted" in rev.error[0]["message"]
    await store.close()


async def test_crash_counting_for_safe_mode(tmp_path):
    store = RevisionStore(tmp_path / "fe.db", max_crashes=2)
    await store.open()
    assert await store.begin_run() == 0
    await store.end_run()  # clean
    assert await store.begin_run() == 0
    # no end_run: the process died
    assert await store.begin_run() == 1
    assert not await store.should_start_safe()
    assert await store.begin_run() == 2
    assert await store.should_start_safe()
    await store.mark_healthy()  # ran long enough after all
    assert not await store.should_start_safe()
    await store.close()
