"""Import every model so that metadata is complete (for Alembic and ``create_all``)."""

from circle.accounts.models import Role, User, user_circle  # noqa: F401
from circle.api import models as _api_models  # noqa: F401  (API tokens)
from circle.audit.models import AuditAction, AuditRecord  # noqa: F401
from circle.issues.lifecycle_models import (  # noqa: F401
    ApprovalRequest,
    RequestKind,
    RequestStatus,
    ReturnBasis,
    Supervision,
)
from circle.issues.models import (  # noqa: F401
    Callback,
    Issue,
    IssueCategory,
    IssueEvent,
    IssueSource,
    Rating,
    Severity,
    SiteVisit,
    SiteVisitPhoto,
    Status,
    Symposium,
    VisitOutcome,
)
from circle.issues.sla_models import CalendarDay, DayKind, SlaPolicy  # noqa: F401
from circle.issues.staging import StagedUpload  # noqa: F401
from circle.merchants.models import EmergencyContact, Merchant  # noqa: F401
from circle.notify import models as _notify_models  # noqa: F401  (notifications, outbox, jobs)
from circle.org.models import (  # noqa: F401
    BusinessCircle,
    CircleMember,
    Community,
    Department,
    DepartmentKind,
    MemberRole,
    Street,
)
from circle.reports.figures import CircleDayFigures  # noqa: F401
from circle.reports.models import UsedImportToken  # noqa: F401
from circle.selfreport.models import IssuePhoto  # noqa: F401
