// Optional desktop notification and chime for a new offer, for an agent whose
// console is in a background tab. Nothing here is needed to see or accept it.

export function canAskForNotifications(): boolean {
  return typeof Notification !== 'undefined' && Notification.permission === 'default';
}

export async function askForNotifications(): Promise<void> {
  if (typeof Notification !== 'undefined') await Notification.requestPermission();
}

let audio: AudioContext | null = null;

function chime(): void {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  } catch {
    // No audio: the dialog is enough.
  }
}

export function announceOffer(customer: string, queue: string): void {
  chime();
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  if (!document.hidden) return;
  const n = new Notification('Incoming chat', {
    body: `${customer} · ${queue}`,
    tag: 'wadesk-offer',
  });
  n.onclick = () => {
    window.focus();
    n.close();
  };
}
