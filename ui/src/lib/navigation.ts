// The app's screens. A tablet app has no address bar, so a screen is a value, not a route.

export type Screen = 'queue' | 'pick' | 'counter' | 'products';
