// The Live tab's microphone processor (an AudioWorklet, run on the audio thread): mixes the
// input to mono, downsamples it from the context's rate to 16 kHz, and posts 16-bit PCM
// (little-endian, as the agent reads it) to the page in chunks of `chunk` samples.
//
// Downsampling: each output sample is the mean of the input samples of its 1/16000 s period
// (a box low-pass, then decimation by a fractional step), which keeps speech's band below
// 8 kHz well enough for Whisper and costs a few operations per sample.

const OUT_RATE = 16000;

class Pcm16k extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.chunk = opts.chunk || 1600;
    this.step = sampleRate / OUT_RATE;
    this.out = new Int16Array(this.chunk);
    this.n = 0;
    this.sum = 0;
    this.count = 0;
    this.phase = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const frames = input[0].length;
    for (let i = 0; i < frames; i++) {
      let x = 0;
      for (let c = 0; c < input.length; c++) x += input[c][i];
      this.sum += x / input.length;
      this.count += 1;
      this.phase += 1;
      if (this.phase >= this.step) {
        this.phase -= this.step;
        const y = Math.max(-1, Math.min(1, this.sum / this.count));
        this.out[this.n++] = Math.round(y * 32767);
        this.sum = 0;
        this.count = 0;
        if (this.n === this.chunk) {
          this.port.postMessage(this.out.buffer, [this.out.buffer]);
          this.out = new Int16Array(this.chunk);
          this.n = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("pcm16k", Pcm16k);
