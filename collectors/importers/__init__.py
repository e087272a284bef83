"""Importers of public measurement sets into the store, and their downloaders.

``import_aihub`` / ``import_timm`` parse and validate a whole source, then append it in one go;
``read_aihub`` / ``read_timm`` only parse (tests, benchmarks, notebooks); ``fetch`` downloads a
source into the layout the importers read.
"""

from collectors.importers.aihub import import_aihub, read_aihub
from collectors.importers.common import DataImportError, ImportSummary
from collectors.importers.fetch import FetchError, fetch
from collectors.importers.public import import_public, public_data_root, public_store
from collectors.importers.timm import import_timm, read_timm

__all__ = ["DataImportError", "FetchError", "ImportSummary", "fetch", "import_aihub", "import_public",
           "import_timm", "public_data_root", "public_store", "read_aihub", "read_timm"]
