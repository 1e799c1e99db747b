"""The navigation bar: which pages each role finds there.

Pages added later register their entry with ``add_nav_item`` when their router module is
imported (e.g. the committee pages: ``add_nav_item(NavItem("评审任务", "/committee",
(Role.EXPERT, Role.STAFF)))``). ``roles=None`` shows an entry to every logged-in user; a tuple
shows it to those roles and to admins (as ``Principal.has``).
"""

from __future__ import annotations

from dataclasses import dataclass

from matching.vocab import Role
from service.security import Principal

__all__ = ["NAVIGATION", "NavItem", "add_nav_item", "navigation_for"]


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: tuple[Role, ...] | None = None
    order: int = 50  # position in the bar, small first

    def shown_to(self, principal: Principal) -> bool:
        return self.roles is None or principal.has(*self.roles)

    def current(self, path: str) -> bool:
        """Whether ``path`` is this entry's page or one below it."""
        return path == self.href or path.startswith(self.href.rstrip("/") + "/")


NAVIGATION: list[NavItem] = [
    NavItem("需求库", "/needs", order=10),
    NavItem("成果库", "/results", order=20),
    NavItem("数据导入", "/import", (Role.STAFF,), order=60),
    NavItem("成效统计", "/dashboard", (Role.STAFF, Role.ORGANISER), order=70),
    NavItem("排序模型", "/ranker", (), order=90),
]


def add_nav_item(item: NavItem) -> None:
    """Add (or replace, by ``href``) an entry of the navigation bar."""
    NAVIGATION[:] = [existing for existing in NAVIGATION if existing.href != item.href]
    NAVIGATION.append(item)


def navigation_for(principal: Principal | None) -> list[NavItem]:
    """The entries ``principal`` sees, in order (none before logging in)."""
    if principal is None:
        return []
    return sorted((i for i in NAVIGATION if i.shown_to(principal)), key=lambda i: i.order)
