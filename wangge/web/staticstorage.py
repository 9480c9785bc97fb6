"""Static files as production serves them: WhiteNoise's compressed, hashed copies, with the page
scripts' ES-module imports (``import … from './http.js'``) rewritten to the hashed names too, so a
changed shared module is never served stale from a browser's cache."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
