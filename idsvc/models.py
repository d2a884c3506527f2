"""Imports every subdomain's models so that ``Base.metadata`` is complete (Alembic, tests)."""

from idsvc.audit import models as audit_models  # noqa: F401
from idsvc.eligibility import models as eligibility_models  # noqa: F401
from idsvc.eligibility.sources import models as source_models  # noqa: F401
from idsvc.identity import models as identity_models  # noqa: F401
from idsvc.office import models as office_models  # noqa: F401
from idsvc.oidc import models as oidc_models  # noqa: F401
from idsvc.registry import models as registry_models  # noqa: F401
