"""Near real time: logs landing in a watched folder become alerts within seconds."""

import shutil

from sekimori.demo import demo_logs, demo_model
from sekimori.detect.watch import watch
from sekimori.store import Store


def test_logs_landing_in_a_watched_folder_become_alerts_and_the_delay_is_reported(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    store = Store(tmp_path / "store")
    ticks = watch(store, [str(folder)], demo_model(), interval=0, only=["boundary"], max_ticks=50)

    first = next(ticks)  # nothing there yet
    assert first.events == 0 and first.new_alerts == []

    logs = {p.rsplit("/", 1)[-1]: p for p in demo_logs()}
    shutil.copy(logs["DE_RDP_Tunnel_5156.evtx"], folder)  # admin01 from the contractor's PC02
    second = next(ticks)
    assert second.events > 0
    assert {a["rule_id"] for a in second.new_alerts} >= {"boundary.account_from_foreign_host"}
    assert len(second.delays) == len(second.new_alerts) > 0  # a delay for every alert, each measured
    assert all(0 <= d < 60 for d in second.delays)

    shutil.copy(logs["discovery_bloodhound.evtx"], folder)  # user01 onto the parent's DC
    third = next(ticks)
    rules = {a["rule_id"] for a in third.new_alerts}
    assert "boundary.first_personal_data_access" in rules
    assert not {a["alert_id"] for a in third.new_alerts} & {a["alert_id"] for a in second.new_alerts}
    assert len(third.delays) == len(third.new_alerts) > 0
    assert all(0 <= d < 60 for d in third.delays)
    ticks.close()


def test_a_growing_file_in_a_watched_folder_is_read_from_where_it_was(tmp_path):
    from tests.conftest import DATA

    folder = tmp_path / "incoming"
    folder.mkdir()
    lines = (DATA / "syslog" / "loghub-openssh.log").read_text().splitlines()
    log = folder / "auth.log"
    log.write_text("\n".join(lines[:30]) + "\n")
    store = Store(tmp_path / "store")
    ticks = watch(store, [str(folder)], None, interval=0, only=["boundary"], max_ticks=3)
    assert next(ticks).events == 30
    with open(log, "a") as fh:
        fh.write("\n".join(lines[30:45]) + "\n")
    assert next(ticks).events == 15
    assert store.stats()["events"] == 45
