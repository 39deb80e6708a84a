"""Every picture is looked at, not only parsed: headless Chromium (Debian's `chromium` package)
screenshots a baked project's report page and its Streamlit applet after a real `fit`, and the
screenshots must show the plots in their colours.

SAVE_SCREENSHOTS=FOLDER keeps the two PNGs there (docs/images/ holds the ones the guide shows).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import services
from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]  # no type hints
from conftest import TEMPLATE, environment_without_venv_markers
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

# A real service: the slow tier (conftest.SLOW_TIER).
pytestmark = pytest.mark.slow

PACKAGE = "digit_classifier"
BROWSER_PACKAGES = {"chromium": "chromium", "chromedriver": "chromium-driver"}  # command: package
# matplotlib's first two line colours (training and validation loss) and the top of viridis (the
# confusion matrix's diagonal); Streamlit's bar colour.
CURVE_BLUE, CURVE_ORANGE, VIRIDIS_YELLOW = (31, 119, 180), (255, 127, 14), (253, 231, 37)
STREAMLIT_BLUE = (0, 104, 201)
# The applet's elements, by Streamlit's test ids: the prediction, the digit, the chart, the table.
DRAWN = [
    f'[data-testid="{test_id}"] {element}'
    for test_id, element in (
        ("stMetricValue", "div"),
        ("stImage", "img"),
        ("stVegaLiteChart", "svg"),
        ("stDataFrame", "canvas"),
    )
]


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Debian's headless Chromium, driven by its chromedriver through Selenium (no download)."""
    paths = {package: shutil.which(command) for command, package in BROWSER_PACKAGES.items()}
    for package, path in paths.items():
        if path is None:
            services.missing(package, package)
    options = webdriver.ChromeOptions()
    options.binary_location = str(paths["chromium"])
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(argument)  # no sandbox: CI's tests run as root in a container
    driver = webdriver.Chrome(options=options, service=Service(str(paths["chromium-driver"])))
    driver.set_window_size(1200, 900)
    yield driver
    driver.quit()


def screenshot(browser: WebDriver, path: Path) -> np.ndarray:
    """A PNG of the whole page, 1200 pixels wide, as RGB values 0-255."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1200, max(900, int(height)))
    browser.save_screenshot(str(path))
    if os.environ.get("SAVE_SCREENSHOTS"):
        shutil.copy(path, Path(os.environ["SAVE_SCREENSHOTS"]) / path.name)
    pixels: np.ndarray = matplotlib.image.imread(path)[..., :3] * 255
    return pixels


def pixels_near(image: np.ndarray, colour: tuple[int, int, int], tolerance: float = 30) -> int:
    """How many pixels are within `tolerance` of `colour`."""
    return int((np.abs(image - np.array(colour)).max(axis=-1) < tolerance).sum())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A default bake with one 3-epoch run, run by this Python (it holds the project's locks)."""
    output = tmp_path_factory.mktemp("bake")
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output)))
    environment = {**environment_without_venv_markers(), "PYTHONPATH": str(project / "src")}
    quiet = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    subprocess.run(
        [sys.executable, "-m", PACKAGE, "fit", "--trainer.max_epochs=3", *quiet],
        cwd=project,
        env=environment,
        check=True,
        capture_output=True,
    )
    return project, environment


def test_the_report_shows_its_curves_and_figures(
    trained: tuple[Path, dict[str, str]], browser: WebDriver, tmp_path: Path
) -> None:
    project, environment = trained
    subprocess.run(
        [sys.executable, "-m", PACKAGE, "report"],
        cwd=project,
        env=environment,
        check=True,
        capture_output=True,
    )
    page = project / "reports" / PACKAGE / "version_0" / "report.html"
    browser.get(page.as_uri())
    image = screenshot(browser, tmp_path / "report.png")
    # Two loss curves, one accuracy curve, a confusion matrix: hundreds of pixels of each colour.
    counts = {
        colour: pixels_near(image, colour) for colour in (CURVE_BLUE, CURVE_ORANGE, VIRIDIS_YELLOW)
    }
    assert min(counts.values()) > 300, counts


def test_the_applet_shows_the_digit_and_the_probabilities(
    trained: tuple[Path, dict[str, str]], browser: WebDriver, tmp_path: Path
) -> None:
    project, environment = trained
    port = services.free_port()
    command = [sys.executable, "-m", "streamlit", "run", f"src/{PACKAGE}/app.py"]
    options = [
        "--server.headless=true",
        f"--server.port={port}",
        "--browser.gatherUsageStats=false",
    ]
    log = (tmp_path / "streamlit.log").open("w")
    server = subprocess.Popen(
        [*command, *options], cwd=project, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://localhost:{port}"

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    return bool(answer.status == 200)
            except OSError:
                return False

        services.wait_until("the applet's server answering", healthy, timeout=120)
        browser.get(url)
        # Drawn once the script has run: the prediction, the digit and the chart are on the page.
        WebDriverWait(browser, 120).until(
            lambda page: all(page.find_elements(By.CSS_SELECTOR, element) for element in DRAWN)
        )
        image = screenshot(browser, tmp_path / "applet.png")
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The bar chart of the ten probabilities, and the digit drawn dark on white.
    bars, ink = pixels_near(image, STREAMLIT_BLUE), pixels_near(image, (0, 0, 0), tolerance=40)
    assert bars > 300 and ink > 2000, ((bars, ink), (tmp_path / "streamlit.log").read_text())
