// Test driver for tests/ui.rs: runs in the UI's own page (served by the test next to the app
// as /driver.html) and plays the steps in its `plan` query parameter, as a user would: wait
// for an element, type, pick, tick, click. The outcome lands on <body data-driver="...">,
// "done" or "failed: <why>", for the test to read from the dumped DOM.
'use strict';

(() => {
  const plan = JSON.parse(new URLSearchParams(location.search).get('plan') || '[]');
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

  async function find(selector, text) {
    for (let i = 0; i < 200; i++) {
      const all = [...document.querySelectorAll(selector)];
      const el = text === undefined ? all[0] : all.find(e => e.textContent.includes(text));
      if (el) return el;
      await sleep(50);
    }
    throw new Error(`no ${selector}${text === undefined ? '' : ` with text ${JSON.stringify(text)}`}`);
  }

  async function gone(selector) {
    for (let i = 0; i < 200; i++) {
      if (!document.querySelector(selector)) return;
      await sleep(50);
    }
    throw new Error(`${selector} is still there`);
  }

  async function step(s) {
    if (s.wait) return find(s.wait, s.text);
    if (s.gone) return gone(s.gone);
    if (s.hash) {
      location.hash = s.hash;
      return sleep(100);
    }
    const el = await find(s.click || s.fill || s.tick || s.pick);
    if (s.click) {
      el.click();
    } else if (s.fill) {
      el.value = s.value;
      el.dispatchEvent(new Event('input', {bubbles: true}));
    } else if (s.tick) {
      if (el.checked !== s.value) el.click();
    } else if (s.pick) {
      el.value = s.value;
      el.dispatchEvent(new Event('change', {bubbles: true}));
    }
    return sleep(50);
  }

  async function run() {
    for (const [i, s] of plan.entries()) {
      try {
        await step(s);
      } catch (e) {
        document.body.setAttribute('data-driver', `failed: step ${i} ${JSON.stringify(s)}: ${e.message}`);
        return;
      }
    }
    document.body.setAttribute('data-driver', 'done');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run);
  else run();
})();
