// The 59-second resend countdown of the verification-code page, as Logto's UI shows it. The
// server renders the seconds left (by the mock's clock); this only counts them down in place,
// in real seconds. The server decides: with a fixed clock (Clock::fixed) the mock's time stands
// still until a test advances it, so when this countdown ends the resend can still be refused
// ("Please wait … seconds"); advance the clock and reload to see the server's count.
(() => {
  const countdown = document.getElementById("resend-countdown");
  const button = document.getElementById("resend");
  if (!countdown || !button) return;
  let left = Number(countdown.dataset.resendIn) || 0;
  const seconds = countdown.querySelector(".seconds");
  const tick = () => {
    left -= 1;
    if (left <= 0) {
      countdown.hidden = true;
      button.hidden = false;
      button.disabled = false;
      return;
    }
    seconds.textContent = String(left);
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
})();
