"""Union-find: groups are transitive and named by their smallest key, whatever the order."""

from bachlstm.corpus.grouping import DisjointSets


def test_groups_are_transitive_and_named_by_the_smallest_key():
    sets = DisjointSets()
    sets.union("c", "b")
    sets.union("d", "c")
    sets.find("z")
    assert [sets.find(k) for k in "bcdz"] == ["b", "b", "b", "z"]


def test_order_of_unions_does_not_change_the_representative():
    a, b = DisjointSets(), DisjointSets()
    for x, y in [("t1", "t2"), ("t3", "t2"), ("t0", "t3")]:
        a.union(x, y)
    for x, y in [("t0", "t3"), ("t2", "t3"), ("t2", "t1")]:
        b.union(x, y)
    assert (
        {a.find(k) for k in ("t0", "t1", "t2", "t3")}
        == {"t0"}
        == {b.find(k) for k in ("t0", "t1", "t2", "t3")}
    )
