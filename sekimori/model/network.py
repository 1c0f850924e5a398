"""The network of a group: zones, the ordered rules telling whose a host is and where it sits, and the
flows the firewalls allow between zones."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PlainSerializer, model_validator

from sekimori.model.fields import CidrList, HostGlob, Id, Ports, Regex, Text, ZoneCidrs
from sekimori.model.section import Section


class Zone(Section):
    """A network zone: a set of networks with one owner."""

    id: Id = Field(description="Unique id of the zone.")
    name: Text = Field(description="Human-readable name.")
    org: Id = Field(description="Id of the organisation that owns the zone.")
    cidrs: ZoneCidrs = Field(
        default_factory=list,
        description="Networks of the zone (IPv4 or IPv6 CIDR, one or a list). An address that no host rule "
        "matches is classified into the zone with the most specific network containing it.",
    )
    description: str | None = Field(default=None, description="Free text.")


class HostRule(Section):
    """Tells whose a host is and in which zone it sits. Rules are tried in order and the first that
    matches wins; a rule with both matchers needs both to match."""

    org: Id = Field(description="Id of the organisation that owns matching hosts.")
    zone: Id = Field(description="Id of the zone matching hosts are in.")
    name_pattern: Regex | None = Field(
        default=None,
        description="Regular expression searched in the host name as given and in its first label (short "
        "name), case-insensitive. RE2 syntax (no backreferences or lookarounds).",
    )
    cidr: CidrList | None = Field(
        default=None, description="Network(s) the host address is in (IPv4 or IPv6 CIDR, one or a list)."
    )
    description: str | None = Field(default=None, description="Free text.")

    @model_validator(mode="after")
    def _has_a_matcher(self) -> HostRule:
        if self.name_pattern is None and self.cidr is None:
            raise ValueError("expected at least one matcher: name_pattern or cidr")
        return self


class Flow(Section):
    """A network flow the firewalls allow between two zones."""

    id: Id = Field(description="Unique id of the flow.")
    from_zone: Id = Field(alias="from", description="Id of the zone connections start from.")
    to_zone: Id = Field(alias="to", description="Id of the zone connections go to.")
    ports: Annotated[Ports, PlainSerializer(lambda ports: "any" if ports is None else ports)] = Field(
        description="Destination ports: a list of port numbers, one port, or 'any'."
    )
    protocol: Literal["tcp", "udp", "any"] = Field(description="Transport protocol.")
    bidirectional: bool = Field(
        default=False,
        description="Whether connections are also allowed from 'to' to 'from' (from its to_hosts to its "
        "from_hosts when it names them).",
    )
    from_hosts: list[HostGlob] = Field(
        default_factory=list,
        description="Host names or globs the flow is restricted to as sources (none: any host of 'from').",
    )
    to_hosts: list[HostGlob] = Field(
        default_factory=list,
        description="Host names or globs the flow is restricted to as destinations (none: any host of 'to').",
    )
    description: str | None = Field(default=None, description="Free text: why the flow exists.")
