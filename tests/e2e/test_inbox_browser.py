"""The dev console's inbox page in a real headless Chromium (Debian's chromium and chromium-driver, driven by
selenium): an in-app message scheduled over HTTP appears once the tick sends it, and marking it read brings the
unread count down. `make install` installs the browser (tools/install-browser)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import LocalService

pytestmark = pytest.mark.e2e

# Flags for a machine with no display and a closed network (Chromium's background calls would be refused).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
WAIT_SECONDS = 30  # a bound on waiting for the page, not a speed the test asserts


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Chromium is missing: run `make install` (tools/install-browser installs it)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="inbox-browser-")
    options.add_argument(f"--user-data-dir={profile}")
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)


def put_in_app_template(service: LocalService) -> None:
    key = service.info["api_key"]
    template = {"parts": {"in_app": {"title": "Hi {{ name }}", "body": "Your results are ready, {{ name }}."}}}
    assert service.request("PUT", "/v1/templates/browser-note", key, json=template).status_code == 200
    assert service.request("PUT", "/v1/brands/browser-brand", key, json={"name": "Clinic"}).status_code == 200


def schedule(service: LocalService, person_id: str, name: str) -> str:
    body = {
        "channel": "in_app",
        "template_key": "browser-note",
        "recipient": person_id,
        "brand_id": "browser-brand",
        "person_id": person_id,
        "variables": {"name": name},
        "dedup_key": uuid.uuid4().hex,
        "scheduled_at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat(),
    }
    reply = service.request("POST", "/v1/messages/schedule", service.info["api_key"], json=body)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["id"])


def tick(service: LocalService) -> None:
    at = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    reply = requests.post(service.info["console_url"] + "/tick", json={"at": at}, timeout=60)
    assert reply.status_code == 200, reply.text


# The page redraws its feed on every refresh: an element read while it is replaced is read again next poll.
REDRAWN = (StaleElementReferenceException,)


def entries(browser: webdriver.Chrome) -> list[str]:
    return [element.get_attribute("data-id") or "" for element in browser.find_elements(By.CSS_SELECTOR, "li.entry")]


def text_of(browser: webdriver.Chrome, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def test_the_inbox_page_shows_a_message_once_sent_and_marks_it_read(service, browser):
    put_in_app_template(service)
    person_id = f"person-{uuid.uuid4().hex[:8]}"
    token = service.request("POST", f"/v1/people/{person_id}/inbox/token", service.info["api_key"]).json()["token"]
    first = schedule(service, person_id, "Ana")
    wait = WebDriverWait(browser, WAIT_SECONDS, poll_frequency=0.2, ignored_exceptions=REDRAWN)

    browser.get(f"{service.info['console_url']}/inbox?person={person_id}&poll=500#token={token}")
    wait.until(lambda b: b.find_element(By.ID, "poll-state").get_attribute("data-loaded") != "0")
    assert entries(browser) == [] and text_of(browser, "unread-count") == "0"
    assert token not in browser.current_url  # the fragment is dropped once the page kept the token

    # Polling with If-None-Match: the page hears 304s while nothing changes.
    wait.until(lambda b: int(b.find_element(By.ID, "poll-state").get_attribute("data-not-modified") or 0) >= 1)
    tick(service)
    wait.until(lambda b: entries(b) == [first])
    assert text_of(browser, "unread-count") == "1"
    entry = browser.find_element(By.CSS_SELECTOR, f'li.entry[data-id="{first}"]')
    assert "Your results are ready, Ana." in entry.text and "unread" in (entry.get_attribute("class") or "")

    second = schedule(service, person_id, "Bo")
    tick(service)
    wait.until(lambda b: entries(b) == [second, first])
    assert text_of(browser, "unread-count") == "2"

    browser.find_element(By.CSS_SELECTOR, f'li.entry[data-id="{first}"] button.mark-read').click()
    wait.until(lambda b: text_of(b, "unread-count") == "1")
    marked = browser.find_element(By.CSS_SELECTOR, f'li.entry[data-id="{first}"]')
    assert "read" in (marked.get_attribute("class") or "").split() and not marked.find_elements(
        By.CLASS_NAME, "mark-read"
    )
    feed = service.request("GET", f"/v1/people/{person_id}/inbox", service.info["api_key"]).json()
    assert {entry["id"]: entry["status"] for entry in feed["data"]} == {second: "unread", first: "read"}

    browser.find_element(By.CSS_SELECTOR, f'li.entry[data-id="{second}"] button.archive').click()
    wait.until(lambda b: entries(b) == [first])
    assert text_of(browser, "unread-count") == "0"


def test_the_dev_stack_names_its_push_apps_and_the_inbox_page(service):
    assert set(service.info["push_apps"]) == {"apns", "apns_sandbox", "fcm"}
    assert service.info["push_apps"]["fcm"].endswith(":app/GCM/scheduled-comms-local-fcm")
    assert service.info["inbox_page"].startswith(service.info["console_url"] + "/inbox?person=")


def test_the_page_with_another_persons_token_shows_nothing_of_theirs(service, browser):
    put_in_app_template(service)
    owner, stranger = f"person-{uuid.uuid4().hex[:8]}", f"person-{uuid.uuid4().hex[:8]}"
    schedule(service, owner, "Secret")
    tick(service)
    stranger_token = service.request("POST", f"/v1/people/{stranger}/inbox/token", service.info["api_key"]).json()[
        "token"
    ]

    browser.get(f"{service.info['console_url']}/inbox?person={owner}#token={stranger_token}")
    WebDriverWait(browser, WAIT_SECONDS, ignored_exceptions=REDRAWN).until(lambda b: text_of(b, "problem") != "")

    assert text_of(browser, "problem") == "This link is not valid."
    assert entries(browser) == [] and "Secret" not in browser.page_source
