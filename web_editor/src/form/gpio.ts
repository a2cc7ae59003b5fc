// The Raspberry Pi 40-pin header: BCM GPIO number -> physical pin.
export const BCM_TO_PHYSICAL: Readonly<Record<number, number>> = {
  2: 3, 3: 5, 4: 7, 5: 29, 6: 31, 7: 26, 8: 24, 9: 21, 10: 19, 11: 23, 12: 32, 13: 33, 14: 8,
  15: 10, 16: 36, 17: 11, 18: 12, 19: 35, 20: 38, 21: 40, 22: 15, 23: 16, 24: 18, 25: 22, 26: 37, 27: 13,
};

/** Pins with a common second use, shown next to the number so a wiring mistake is visible. */
const ROLES: Readonly<Record<number, string>> = {
  2: "I²C SDA", 3: "I²C SCL", 14: "UART TX", 15: "UART RX", 10: "SPI MOSI", 9: "SPI MISO", 11: "SPI SCLK",
  8: "SPI CE0", 7: "SPI CE1", 18: "PWM0", 12: "PWM0", 13: "PWM1", 19: "PWM1",
};

export interface PinOption {
  bcm: number;
  label: string;
}

export const GPIO_PINS: readonly PinOption[] = Object.keys(BCM_TO_PHYSICAL)
  .map(Number)
  .sort((a, b) => a - b)
  .map((bcm) => ({
    bcm,
    label: `GPIO${bcm} — pin ${BCM_TO_PHYSICAL[bcm]}${ROLES[bcm] ? ` (${ROLES[bcm]})` : ""}`,
  }));
