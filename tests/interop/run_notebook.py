"""Execute a notebook with nbclient; SALESRELAY_REPORT tells it which report to read.

Usage: python run_notebook.py NOTEBOOK REPORT_DIR
"""
import os
import sys

import nbformat
from nbclient import NotebookClient

notebook, report = sys.argv[1], sys.argv[2]
os.environ["SALESRELAY_REPORT"] = os.path.abspath(report)
nb = nbformat.read(notebook, as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": os.path.dirname(os.path.abspath(notebook))}}).execute()
outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
errors = [o for o in outputs if o.get("output_type") == "error"]
if errors:
    sys.exit(f"notebook failed: {errors[0].get('ename')}: {errors[0].get('evalue')}")
print(f"executed {sum(1 for c in nb.cells if c.cell_type == 'code')} code cells, {len(outputs)} outputs")
