"""Demo data for the embedded quick start: two customers and two agents with known tokens.

Only for development: the fixed agent tokens are refused anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from warmline.automation.knowledge.index import Embed
from warmline.automation.knowledge.service import ImportReport, import_paths
from warmline.domain.customer import Identity
from warmline.storage.agents import create_agent, get_agent, set_password
from warmline.storage.customers import create_customer, find_by_identity


@dataclass(frozen=True)
class DemoAgent:
    """A demo agent and its development token."""

    id: str
    name: str
    seniority: str
    skills: tuple[str, ...]
    token: str
    role: str = "agent"

    @property
    def password(self) -> str:
        """The console password of the demo (development only, like the token)."""
        return f"{self.id}-demo-password"


DEMO_AGENTS = (
    DemoAgent(
        "alex",
        "Alex Rivera",
        "senior",
        ("billing", "complaints"),
        "demo-token-alex",
        role="supervisor",
    ),
    DemoAgent("sam", "Sam Lee", "regular", ("orders", "technical"), "demo-token-sam"),
)


def load_demo_data(session: Session) -> list[DemoAgent]:
    """Insert the demo customers and agents unless they exist; return the agents."""
    if find_by_identity(session, identity=Identity("email", "ana@example.com")) is None:
        create_customer(
            session,
            name="Ana García",
            tier="vip",
            plan="Unlimited Plus",
            lifetime_value=5200.0,
            identities=[Identity("email", "ana@example.com"), Identity("phone", "+34 600 111 222")],
        )
    if find_by_identity(session, identity=Identity("email", "ben@example.com")) is None:
        create_customer(
            session,
            name="Ben Okafor",
            tier="standard",
            plan="Basic 10GB",
            lifetime_value=240.0,
            identities=[Identity("email", "ben@example.com")],
        )
    for agent in DEMO_AGENTS:
        if get_agent(session, agent_id=agent.id) is None:
            create_agent(
                session,
                agent_id=agent.id,
                name=agent.name,
                skills=agent.skills,
                seniority=agent.seniority,
                token=agent.token,
                role=agent.role,
            )
        known = get_agent(session, agent_id=agent.id)
        if known is not None and known.password_hash is None:
            set_password(session, agent_id=agent.id, password=agent.password)
    return list(DEMO_AGENTS)


DEMO_KNOWLEDGE = Path(__file__).resolve().parent / "automation" / "knowledge" / "demo"


def load_demo_knowledge(sessions: sessionmaker[Session], embed: Embed) -> ImportReport:
    """Import the demo help centre (a fictional operator's articles) unless it is there
    already; re-running changes nothing."""
    return import_paths(sessions, [DEMO_KNOWLEDGE], embed)
